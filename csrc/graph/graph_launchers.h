// Launchers of the graph kernels. Shapes are documented in graph.h.
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace r3d {

// Stable counting sort of keys (M,) in [0, R): order (M,) lists the positions of key 0, then of
// key 1, ...; ptr (R + 1,) the start of each key's run in order. CPU only (CUDA callers sort).
Status group_by_key_cpu(const int64_t* keys, int64_t M, int64_t R, int64_t* ptr, int64_t* order);

Status face_pairs_cpu(const int64_t* edges, const int64_t* ptr, const int64_t* order,
                      const int64_t* corners, const int64_t* pair_first, int64_t E,
                      int64_t* quads, int64_t* pair_edge, int num_threads);
Status face_pairs_cuda(const int64_t* edges, const int64_t* ptr, const int64_t* order,
                       const int64_t* corners, const int64_t* pair_first, int64_t E,
                       int64_t* quads, int64_t* pair_edge, uintptr_t stream);

template <typename T>
Status csr_gather_sum_cpu(const T* x, const int64_t* ptr, const int64_t* col, int64_t V,
                          int64_t D, T* out, int num_threads);
template <typename T>
Status edge_loss_forward_cpu(const T* verts, const int64_t* edges, int64_t E, T target, T* out,
                             int num_threads);
template <typename T>
Status edge_loss_backward_cpu(const T* verts, const int64_t* edges, int64_t E, const T* grad,
                              T target, T* grad_corners, int num_threads);
template <typename T>
Status normal_consistency_forward_cpu(const T* verts, const int64_t* quads, int64_t P, T eps,
                                      T* out, int num_threads);
template <typename T>
Status normal_consistency_backward_cpu(const T* verts, const int64_t* quads, int64_t P,
                                       const T* grad, T eps, T* grad_corners, int num_threads);

template <typename T>
Status csr_gather_sum_cuda(const T* x, const int64_t* ptr, const int64_t* col, int64_t V,
                           int64_t D, T* out, uintptr_t stream);
template <typename T>
Status edge_loss_forward_cuda(const T* verts, const int64_t* edges, int64_t E, T target, T* out,
                              uintptr_t stream);
template <typename T>
Status edge_loss_backward_cuda(const T* verts, const int64_t* edges, int64_t E, const T* grad,
                               T target, T* grad_corners, uintptr_t stream);
template <typename T>
Status normal_consistency_forward_cuda(const T* verts, const int64_t* quads, int64_t P, T eps,
                                       T* out, uintptr_t stream);
template <typename T>
Status normal_consistency_backward_cuda(const T* verts, const int64_t* quads, int64_t P,
                                        const T* grad, T eps, T* grad_corners, uintptr_t stream);

}  // namespace r3d
