#include "common/cpu_loop.h"
#include "mesh_normals/mesh_normals.h"
#include "mesh_normals/mesh_normals_launchers.h"

namespace r3d {

namespace {

// Cost units of one face's area and normal.
constexpr int64_t kFaceCost = 40;

}  // namespace

template <typename T>
Status face_areas_normals_forward_cpu(const T* verts, const int64_t* faces, int64_t num_faces,
                                      T* areas, T* normals, T eps, int num_threads) {
  parallel_for(num_faces, kFaceCost, num_threads,
               FaceAreasNormalsForward<T>{verts, faces, areas, normals, eps});
  return Status::ok();
}

template <typename T>
Status face_areas_normals_backward_cpu(const T* verts, const int64_t* faces, int64_t num_faces,
                                       const T* grad_areas, const T* grad_normals,
                                       T* grad_corners, T eps, int num_threads) {
  parallel_for(num_faces, 2 * kFaceCost, num_threads,
               FaceAreasNormalsBackward<T>{verts, faces, grad_areas, grad_normals, grad_corners, eps});
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                     \
  template Status face_areas_normals_forward_cpu<T>(const T*, const int64_t*, int64_t, T*, T*, \
                                                    T, int);                                   \
  template Status face_areas_normals_backward_cpu<T>(const T*, const int64_t*, int64_t,        \
                                                     const T*, const T*, T*, T, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
