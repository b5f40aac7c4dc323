// Shapes of the fused Chamfer kernels (chamfer_cpu.cpp): the nearest-neighbour searches of both
// directions between two padded batches of 3D clouds, their per-cloud sums, and the backward.
//
// x (N, P1, 3) and y (N, P2, 3) are padded clouds with (N,) int64 valid counts. Direction 0
// searches y for each valid point of x, direction 1 (when directions == 2) x for each valid
// point of y. A query whose other cloud is empty has no neighbour: distance 0, index 0.
#pragma once

#include <cstdint>

namespace r3d {

struct ChamferShape {
  int64_t N, P1, P2;
  int norm;        // 2: squared Euclidean distances, 1: L1
  int directions;  // 1 (x to y only) or 2
};

}  // namespace r3d
