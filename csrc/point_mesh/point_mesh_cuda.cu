#include "common/cuda_loop.cuh"
#include "point_mesh/point_mesh.h"
#include "point_mesh/point_mesh_launchers.h"

namespace r3d {

template <typename T>
Status point_mesh_forward_cuda(const PointMeshForwardArgs<T>& args, int corners,
                               bool point_queries, uintptr_t stream) {
  return with_forward_body(args, corners, point_queries, [&](const auto& body, int64_t n) {
    return cuda_parallel_for(n, stream, body);
  });
}

template <typename T>
Status point_mesh_backward_cuda(const PointMeshBackwardArgs<T>& args, int64_t num_queries,
                                int corners, bool point_queries, uintptr_t stream) {
  return with_backward_body(args, corners, point_queries, [&](const auto& body) {
    return cuda_parallel_for(num_queries, stream, body);
  });
}

#define R3D_INSTANTIATE(T)                                                                 \
  template Status point_mesh_forward_cuda<T>(const PointMeshForwardArgs<T>&, int, bool,   \
                                             uintptr_t);                                   \
  template Status point_mesh_backward_cuda<T>(const PointMeshBackwardArgs<T>&, int64_t, int, \
                                              bool, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
