// Launchers of ball_query. Shapes are documented in ball_query.h. The gradient of the distances
// is knn_points' backward (knn_backward_*), which skips the slots holding index -1.
#pragma once

#include <cstdint>

#include "ball_query/ball_query.h"
#include "common/macros.h"

namespace r3d {

template <typename T>
Status ball_query_forward_cpu(const BallQueryArgs<T>& a, int num_threads);
template <typename T>
Status ball_query_forward_cuda(const BallQueryArgs<T>& a, uintptr_t stream);
// The CUDA launcher's schedule (grid by box / keys / count / scan / stable sort) run on the
// host, for tests (ball_query_emulate_cpu.cpp).
template <typename T>
Status ball_query_forward_emulated(const BallQueryArgs<T>& a, int num_threads);

}  // namespace r3d
