#include "common/cpu_loop.h"
#include "point_mesh/point_mesh.h"
#include "point_mesh/point_mesh_launchers.h"

namespace r3d {

template <typename T>
Status point_mesh_forward_cpu(const PointMeshForwardArgs<T>& args, int corners,
                              bool point_queries, int num_threads) {
  return with_forward_body(args, corners, point_queries, [&](const auto& body, int64_t n) {
    parallel_for_dynamic(n, num_threads, body);
    return Status::ok();
  });
}

template <typename T>
Status point_mesh_backward_cpu(const PointMeshBackwardArgs<T>& args, int64_t num_queries,
                               int corners, bool point_queries, int num_threads) {
  return with_backward_body(args, corners, point_queries, [&](const auto& body) {
    parallel_for(num_queries, num_threads, body);
    return Status::ok();
  });
}

#define R3D_INSTANTIATE(T)                                                                    \
  template Status point_mesh_forward_cpu<T>(const PointMeshForwardArgs<T>&, int, bool, int); \
  template Status point_mesh_backward_cpu<T>(const PointMeshBackwardArgs<T>&, int64_t, int,  \
                                             bool, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
