// Per-step bodies of sample_farthest_points (iterative farthest point sampling), shared by the
// CPU launcher, the CUDA launcher and its host emulation.
//
// Clouds are padded: points (N, P, D), lengths (N,) valid counts, k (N,) samples asked for,
// start (N,) each cloud's first sample (in [0, lengths[n]), 0 for an empty cloud). Cloud n takes
// count = min(k[n], lengths[n]) samples: the first is start[n]; each next one is the point whose
// squared distance to its nearest sample so far is largest, ties going to the lowest index (an
// already chosen point has distance 0, so it is chosen again only when every distance is 0, as
// in the pure-PyTorch twin). Output idx (N, max_k): the samples in order, then -1.
// Workspace closest (N, P): each valid point's squared distance to its nearest sample so far.
//
// A step scans the points in shares (contiguous on the CPU, strided by thread on the GPU), each
// share keeping its best candidate, and the shares' candidates are reduced with fps_better:
// the largest distance, then the lowest index. That order is total, so any split of the points
// and any reduction tree give the same sample as one scan in index order.
#pragma once

#include <cstdint>
#include <limits>

#include "common/distance.h"
#include "common/macros.h"

namespace r3d {

struct FpsShape {
  int64_t N, P, D, max_k;
};

// A launcher's arguments.
template <typename T>
struct FpsArgs {
  const T* points;         // (N, P, D)
  const int64_t* lengths;  // (N,)
  const int64_t* k;        // (N,)
  const int64_t* start;    // (N,)
  FpsShape s;
  T* closest;              // (N, P) workspace
  int64_t* idx;            // (N, max_k)
};

// A candidate sample: its squared distance to the nearest sample so far, and its index.
template <typename T>
struct FpsBest {
  T value;
  int64_t index;
};

// The candidate no point loses to (an empty share).
template <typename T>
R3D_HD inline FpsBest<T> fps_none() {
  return FpsBest<T>{-std::numeric_limits<T>::infinity(), -1};
}

// The better of two candidates: the larger distance, then the lower index.
template <typename T>
R3D_HD inline FpsBest<T> fps_better(const FpsBest<T>& a, const FpsBest<T>& b) {
  return (a.value > b.value || (a.value == b.value && a.index < b.index)) ? a : b;
}

// Cloud n's number of samples, min(k[n], lengths[n]).
R3D_HD inline int64_t fps_count(const int64_t* lengths, const int64_t* k, int64_t n) {
  return k[n] < lengths[n] ? k[n] : lengths[n];
}

// Slots [count, max_k) of cloud n's row of idx hold -1; for j in [begin, end) with stride.
R3D_HD inline void fps_pad(int64_t* row, int64_t count, int64_t max_k, int64_t begin,
                           int64_t stride) {
  for (int64_t s = count + begin; s < max_k; s += stride) row[s] = -1;
}

// One step over the points j = begin, begin + stride, ... < end of a cloud: lowers closest[j] to
// the squared distance from point j to the last sample `current` (D coordinates; Dc > 0: D is
// Dc, known when compiling) and returns the best candidate among them. first: the first step,
// where closest holds nothing yet (every distance so far is +inf).
template <int Dc, typename T>
R3D_HD inline FpsBest<T> fps_scan(const T* cloud, int64_t D, const T* current, T* closest,
                                  int64_t begin, int64_t end, int64_t stride, bool first) {
  const int64_t dim = Dc > 0 ? Dc : D;
  FpsBest<T> best = fps_none<T>();
  for (int64_t j = begin; j < end; j += stride) {
    const T d = squared_distance(cloud + j * dim, current, dim);
    const T old = closest[j];
    const T c = first || d < old ? d : old;
    closest[j] = c;
    if (c > best.value) best = FpsBest<T>{c, j};
  }
  return best;
}

// Threads of the CUDA launcher's block for clouds of P points (a multiple of 32, at most 1024,
// each thread with at least 4 points when there are fewer than 4096).
inline int fps_block_threads(int64_t P) {
  const int64_t warps = (P + 127) / 128;
  return 32 * static_cast<int>(warps < 1 ? 1 : (warps > 32 ? 32 : warps));
}

}  // namespace r3d
