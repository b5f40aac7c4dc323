// Launchers of mesh_face_areas_normals. Shapes are documented in mesh_normals.h.
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace r3d {

template <typename T>
Status face_areas_normals_forward_cpu(const T* verts, const int64_t* faces, int64_t num_faces,
                                      T* areas, T* normals, T eps, int num_threads);
template <typename T>
Status face_areas_normals_backward_cpu(const T* verts, const int64_t* faces, int64_t num_faces,
                                       const T* grad_areas, const T* grad_normals,
                                       T* grad_corners, T eps, int num_threads);
template <typename T>
Status face_areas_normals_forward_cuda(const T* verts, const int64_t* faces, int64_t num_faces,
                                       T* areas, T* normals, T eps, uintptr_t stream);
template <typename T>
Status face_areas_normals_backward_cuda(const T* verts, const int64_t* faces, int64_t num_faces,
                                        const T* grad_areas, const T* grad_normals,
                                        T* grad_corners, T eps, uintptr_t stream);

}  // namespace r3d
