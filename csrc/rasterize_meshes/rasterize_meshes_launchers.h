// Launchers of rasterize_meshes. Shapes are documented in rasterize_meshes.h.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "rasterize_meshes/rasterize_meshes.h"

namespace r3d {

// bin_size: side of the CPU launcher's square screen bins in pixels; 0 picks it from the image
// size, K and the faces' sizes. The CUDA launcher is naive (one thread per pixel over its mesh's
// faces) and takes no bin size.
template <typename T>
Status rasterize_meshes_forward_cpu(const T* face_verts, const int64_t* face_first,
                                    const int64_t* face_count, RasterSettings s,
                                    int64_t bin_size, int64_t* pix_to_face, T* zbuf, T* bary,
                                    T* dists, int num_threads);
template <typename T>
Status rasterize_meshes_forward_cuda(const T* face_verts, const int64_t* face_first,
                                     const int64_t* face_count, RasterSettings s,
                                     int64_t* pix_to_face, T* zbuf, T* bary, T* dists,
                                     uintptr_t stream);

// grad_face_verts (F, 3, 3), zeroed by the caller: the gradient w.r.t. the corners of each face.
template <typename T>
Status rasterize_meshes_backward_cpu(const T* face_verts, const int64_t* pix_to_face,
                                     const T* grad_zbuf, const T* grad_bary, const T* grad_dists,
                                     RasterSettings s, int64_t num_faces, T* grad_face_verts,
                                     int num_threads);
template <typename T>
Status rasterize_meshes_backward_cuda(const T* face_verts, const int64_t* pix_to_face,
                                      const T* grad_zbuf, const T* grad_bary,
                                      const T* grad_dists, RasterSettings s, int64_t num_faces,
                                      T* grad_face_verts, uintptr_t stream);

}  // namespace r3d
