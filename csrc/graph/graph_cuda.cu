#include "common/cuda_loop.cuh"
#include "graph/graph.h"
#include "graph/graph_launchers.h"

namespace r3d {

Status face_pairs_cuda(const int64_t* edges, const int64_t* ptr, const int64_t* order,
                       const int64_t* corners, const int64_t* pair_first, int64_t E,
                       int64_t* quads, int64_t* pair_edge, uintptr_t stream) {
  return cuda_parallel_for(E, stream,
                           FacePairs{edges, ptr, order, corners, pair_first, quads, pair_edge});
}

template <typename T>
Status csr_gather_sum_cuda(const T* x, const int64_t* ptr, const int64_t* col, int64_t V,
                           int64_t D, T* out, uintptr_t stream) {
  return cuda_parallel_for(V, stream, CsrGatherSum<T>{x, ptr, col, D, out});
}

template <typename T>
Status edge_loss_forward_cuda(const T* verts, const int64_t* edges, int64_t E, T target, T* out,
                              uintptr_t stream) {
  return cuda_parallel_for(E, stream, EdgeLossForward<T>{verts, edges, target, out});
}

template <typename T>
Status edge_loss_backward_cuda(const T* verts, const int64_t* edges, int64_t E, const T* grad,
                               T target, T* grad_corners, uintptr_t stream) {
  return cuda_parallel_for(E, stream,
                           EdgeLossBackward<T>{verts, edges, grad, target, grad_corners});
}

template <typename T>
Status normal_consistency_forward_cuda(const T* verts, const int64_t* quads, int64_t P, T eps,
                                       T* out, uintptr_t stream) {
  return cuda_parallel_for(P, stream, NormalConsistencyForward<T>{verts, quads, eps, out});
}

template <typename T>
Status normal_consistency_backward_cuda(const T* verts, const int64_t* quads, int64_t P,
                                        const T* grad, T eps, T* grad_corners,
                                        uintptr_t stream) {
  return cuda_parallel_for(P, stream,
                           NormalConsistencyBackward<T>{verts, quads, grad, eps, grad_corners});
}

#define R3D_INSTANTIATE(T)                                                                     \
  template Status csr_gather_sum_cuda<T>(const T*, const int64_t*, const int64_t*, int64_t,    \
                                         int64_t, T*, uintptr_t);                              \
  template Status edge_loss_forward_cuda<T>(const T*, const int64_t*, int64_t, T, T*,          \
                                            uintptr_t);                                        \
  template Status edge_loss_backward_cuda<T>(const T*, const int64_t*, int64_t, const T*, T,   \
                                             T*, uintptr_t);                                   \
  template Status normal_consistency_forward_cuda<T>(const T*, const int64_t*, int64_t, T, T*, \
                                                     uintptr_t);                               \
  template Status normal_consistency_backward_cuda<T>(const T*, const int64_t*, int64_t,       \
                                                      const T*, T, T*, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
