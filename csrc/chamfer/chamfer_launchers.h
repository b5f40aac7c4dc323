// Launchers of the fused Chamfer kernels (CPU only: CUDA callers run knn_points). Shapes are
// documented in chamfer.h.
#pragma once

#include <cstdint>

#include "chamfer/chamfer.h"
#include "common/macros.h"

namespace r3d {

// sums (directions, N): per cloud and direction, the sum of the distances from each valid query
// to its nearest point of the other cloud; x_idx (N, P1) and y_idx (N, P2, or 0 rows of it with
// one direction) int32: that nearest point's index (0 for padded queries and empty targets).
template <typename T>
Status chamfer_forward_cpu(const T* x, const T* y, const int64_t* x_lengths,
                           const int64_t* y_lengths, ChamferShape shape, T* sums, int32_t* x_idx,
                           int32_t* y_idx, int num_threads);

// The gradients grad_x (N, P1, 3) and grad_y (N, P2, 3) of sum over directions d and clouds n
// of grad_sums[d, n] * sums[d, n], given the forward's indices (zeros in the padded rows).
template <typename T>
Status chamfer_backward_cpu(const T* x, const T* y, const int64_t* x_lengths,
                            const int64_t* y_lengths, const int32_t* x_idx, const int32_t* y_idx,
                            const T* grad_sums, ChamferShape shape, T* grad_x, T* grad_y,
                            int num_threads);

}  // namespace r3d
