// Launchers of sample_farthest_points. Shapes are documented in sample_farthest_points.h.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "sample_farthest_points/sample_farthest_points.h"

namespace r3d {

// a.closest (N, P): workspace (any contents). The CUDA launcher keeps a cloud's distances in
// shared memory instead when they fit there.
template <typename T>
Status sample_farthest_points_cpu(const FpsArgs<T>& a, int num_threads);
template <typename T>
Status sample_farthest_points_cuda(const FpsArgs<T>& a, uintptr_t stream);
// The CUDA launcher's schedule (a block per cloud, a strided share per thread, warp and block
// reductions) run on the host, for tests (sample_farthest_points_emulate_cpu.cpp).
template <typename T>
Status sample_farthest_points_emulated(const FpsArgs<T>& a, int num_threads);

}  // namespace r3d
