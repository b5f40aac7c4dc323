// Distances between points and their gradients.
//
// squared_distance rounds every product and sum as written, never fusing them into an FMA
// (common/exact_math.h; the CPU sources are also compiled with -ffp-contract=off). So the CPU
// kernels, the CUDA kernels and the pure-PyTorch twins, which compute (a - b)**2 summed over
// the coordinates in order, agree to the last bit, and a comparison of two distances (the
// farthest point, the points within a radius) comes out the same on every device.
#pragma once

#include <cstdint>

#include "common/exact_math.h"
#include "common/macros.h"

namespace r3d {

// sum over d < D of (a[d] - b[d])^2, added in order of d.
template <typename T>
R3D_HD inline T squared_distance(const T* a, const T* b, int64_t D) {
  T acc = T(0);
  for (int64_t d = 0; d < D; ++d) {
    const T diff = a[d] - b[d];
    acc = add_rn(acc, mul_rn(diff, diff));
  }
  return acc;
}

// The gradient of g * dist(a, b) (dist: squared L2 for norm 2, L1 for norm 1) over D
// coordinates: added to grad_a, written to grad_b.
template <typename T>
R3D_HD inline void pair_distance_gradient(const T* a, const T* b, T g, int64_t D, int norm,
                                          T* grad_a, T* grad_b) {
  for (int64_t d = 0; d < D; ++d) {
    const T diff = a[d] - b[d];
    const T sign = diff > T(0) ? T(1) : (diff < T(0) ? T(-1) : T(0));
    const T c = norm == 2 ? T(2) * g * diff : g * sign;
    grad_a[d] += c;
    grad_b[d] = -c;
  }
}

}  // namespace r3d
