// Pixel helpers shared by the rasterisers' bodies (meshes and points), host and device.
//
// Conventions (PyTorch3D's): pixel (0, 0) is the top-left one; NDC +x points left and +y up; the
// shorter image side spans [-1, 1], so column x has NDC centre (W - 2x - 1) / min(H, W) and row y
// has (H - 2y - 1) / min(H, W).
#pragma once

#include <cstdint>

#include "common/accumulate.h"  // for the rasterisers' backward scatter-adds
#include "common/macros.h"

namespace r3d {

// NDC centre of pixel i along a side of S pixels (flipped: i = 0 is at the +1 end), computed in
// double and rounded once to T.
template <typename T>
R3D_HD inline T pixel_centre(int64_t i, int64_t S, int64_t min_side) {
  return static_cast<T>(static_cast<double>(S - 2 * i - 1) / static_cast<double>(min_side));
}

// Whether the fragment at depth z of element i comes before the one at depth z2 of element i2 in
// a pixel's list: nearer first, ties by element index (a total order, so results never depend on
// the order in which elements are visited).
template <typename T>
R3D_HD inline bool nearer(T z, int64_t i, T z2, int64_t i2) {
  return z < z2 || (z == z2 && i < i2);
}

}  // namespace r3d
