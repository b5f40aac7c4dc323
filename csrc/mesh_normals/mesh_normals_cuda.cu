#include "common/cuda_loop.cuh"
#include "mesh_normals/mesh_normals.h"
#include "mesh_normals/mesh_normals_launchers.h"

namespace r3d {

template <typename T>
Status face_areas_normals_forward_cuda(const T* verts, const int64_t* faces, int64_t num_faces,
                                       T* areas, T* normals, T eps, uintptr_t stream) {
  return cuda_parallel_for(num_faces, stream,
                           FaceAreasNormalsForward<T>{verts, faces, areas, normals, eps});
}

template <typename T>
Status face_areas_normals_backward_cuda(const T* verts, const int64_t* faces, int64_t num_faces,
                                        const T* grad_areas, const T* grad_normals,
                                        T* grad_corners, T eps, uintptr_t stream) {
  return cuda_parallel_for(
      num_faces, stream,
      FaceAreasNormalsBackward<T>{verts, faces, grad_areas, grad_normals, grad_corners, eps});
}

#define R3D_INSTANTIATE(T)                                                                      \
  template Status face_areas_normals_forward_cuda<T>(const T*, const int64_t*, int64_t, T*, T*, \
                                                     T, uintptr_t);                             \
  template Status face_areas_normals_backward_cuda<T>(const T*, const int64_t*, int64_t,        \
                                                      const T*, const T*, T*, T, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
