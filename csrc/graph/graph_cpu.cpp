#include <algorithm>

#include "common/cpu_loop.h"
#include "graph/graph.h"
#include "graph/graph_launchers.h"

namespace r3d {

namespace {

// Cost units of one element: an edge's face pairs, a vertex's neighbour sum (per channel), an
// edge's length term, a face pair's normals.
constexpr int64_t kFacePairsCost = 16;
constexpr int64_t kGatherCostPerChannel = 8;
constexpr int64_t kEdgeLossCost = 12;
constexpr int64_t kNormalConsistencyCost = 60;

}  // namespace

Status group_by_key_cpu(const int64_t* keys, int64_t M, int64_t R, int64_t* ptr, int64_t* order) {
  // count each key into ptr[key + 1], prefix-sum into run starts, then place every position at
  // its key's cursor; the cursors end at the next run's start, so a shift restores the starts.
  std::fill(ptr, ptr + R + 1, int64_t{0});
  for (int64_t m = 0; m < M; ++m) ++ptr[keys[m] + 1];
  for (int64_t r = 0; r < R; ++r) ptr[r + 1] += ptr[r];
  for (int64_t m = 0; m < M; ++m) order[ptr[keys[m]]++] = m;
  std::copy_backward(ptr, ptr + R, ptr + R + 1);
  ptr[0] = 0;
  return Status::ok();
}

Status face_pairs_cpu(const int64_t* edges, const int64_t* ptr, const int64_t* order,
                      const int64_t* corners, const int64_t* pair_first, int64_t E,
                      int64_t* quads, int64_t* pair_edge, int num_threads) {
  parallel_for(E, kFacePairsCost, num_threads,
               FacePairs{edges, ptr, order, corners, pair_first, quads, pair_edge});
  return Status::ok();
}

template <typename T>
Status csr_gather_sum_cpu(const T* x, const int64_t* ptr, const int64_t* col, int64_t V,
                          int64_t D, T* out, int num_threads) {
  parallel_for(V, kGatherCostPerChannel * D, num_threads,
               CsrGatherSum<T>{x, ptr, col, D, out});
  return Status::ok();
}

template <typename T>
Status edge_loss_forward_cpu(const T* verts, const int64_t* edges, int64_t E, T target, T* out,
                             int num_threads) {
  parallel_for(E, kEdgeLossCost, num_threads,
               EdgeLossForward<T>{verts, edges, target, out});
  return Status::ok();
}

template <typename T>
Status edge_loss_backward_cpu(const T* verts, const int64_t* edges, int64_t E, const T* grad,
                              T target, T* grad_corners, int num_threads) {
  parallel_for(E, kEdgeLossCost, num_threads,
               EdgeLossBackward<T>{verts, edges, grad, target, grad_corners});
  return Status::ok();
}

template <typename T>
Status normal_consistency_forward_cpu(const T* verts, const int64_t* quads, int64_t P, T eps,
                                      T* out, int num_threads) {
  parallel_for(P, kNormalConsistencyCost, num_threads,
               NormalConsistencyForward<T>{verts, quads, eps, out});
  return Status::ok();
}

template <typename T>
Status normal_consistency_backward_cpu(const T* verts, const int64_t* quads, int64_t P,
                                       const T* grad, T eps, T* grad_corners, int num_threads) {
  parallel_for(P, 2 * kNormalConsistencyCost, num_threads,
               NormalConsistencyBackward<T>{verts, quads, grad, eps, grad_corners});
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                     \
  template Status csr_gather_sum_cpu<T>(const T*, const int64_t*, const int64_t*, int64_t,     \
                                        int64_t, T*, int);                                     \
  template Status edge_loss_forward_cpu<T>(const T*, const int64_t*, int64_t, T, T*, int);     \
  template Status edge_loss_backward_cpu<T>(const T*, const int64_t*, int64_t, const T*, T,    \
                                            T*, int);                                          \
  template Status normal_consistency_forward_cpu<T>(const T*, const int64_t*, int64_t, T, T*,  \
                                                    int);                                      \
  template Status normal_consistency_backward_cpu<T>(const T*, const int64_t*, int64_t,        \
                                                     const T*, T, T*, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
