// Sums across the 32 lanes of a warp grouped by key, before an atomic scatter-add: the lanes that
// hold the same key (their "peers", a 32-bit lane mask) add their values in a tree, so that one
// atomic per key and warp reaches memory instead of one per lane. The schedule below is shared by
// the CUDA kernels (shuffles between lanes) and their host emulation (a loop over the lanes).
//
// A lane's rank is its position among its peers (0 for the lowest lane). In step s = 1, 2, 4, ...
// rank r takes the partial sum of rank r + s when r is a multiple of 2 s and that rank exists;
// after the steps rank 0 holds the sum of its peers.
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace r3d {

R3D_HD inline int popcount32(uint32_t m) {
#ifdef __CUDA_ARCH__
  return __popc(m);
#else
  return __builtin_popcount(m);
#endif
}

// The lane of the n-th (from 0) set bit of mask, or -1 when it has fewer.
R3D_HD inline int nth_set_bit(uint32_t mask, int n) {
  for (int i = 0; i < n && mask; ++i) mask &= mask - 1;
  if (!mask) return -1;
#ifdef __CUDA_ARCH__
  return __ffs(mask) - 1;
#else
  return __builtin_ctz(mask);
#endif
}

// The rank of lane among peers (peers includes lane).
R3D_HD inline int peer_rank(uint32_t peers, int lane) {
  return popcount32(peers & ((uint32_t{1} << lane) - 1u));
}

// The lane whose partial sum rank takes in step `step`, or -1 when it takes none.
R3D_HD inline int peer_source(uint32_t peers, int rank, int step) {
  if (rank % (2 * step) != 0) return -1;
  return nth_set_bit(peers, rank + step);
}

}  // namespace r3d
