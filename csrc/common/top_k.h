// The best k (distance, index) pairs of a search, kept sorted in the caller's output rows.
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace r3d {

// A list of the k best (distance, index) pairs pushed so far, kept sorted in the caller's output
// rows (dists, idx): by distance, ties to the lower index (the nearest: knn_points), or with
// kByIndex by index alone (the first in index order: ball_query).
template <typename T, bool kByIndex = false>
struct TopK {
  T* dists;
  int64_t* idx;
  int64_t k;
  int64_t count = 0;

  R3D_HD TopK(T* d, int64_t* i, int64_t k_) : dists(d), idx(i), k(k_) {}

  R3D_HD static bool before(T d, int64_t j, T d2, int64_t j2) {
    if constexpr (kByIndex) return j < j2;
    else return d < d2 || (d == d2 && j < j2);
  }
  R3D_HD bool full() const { return count == k; }
  // The last pair's distance and index (only meaningful when full()): a candidate after them
  // does not enter.
  R3D_HD T worst() const { return dists[k - 1]; }
  R3D_HD int64_t last() const { return idx[k - 1]; }

  R3D_HD void push(T d, int64_t j) {
    if (k == 0) return;
    if (count == k && !before(d, j, dists[k - 1], idx[k - 1])) return;
    int64_t pos = count < k ? count++ : k - 1;
    while (pos > 0 && before(d, j, dists[pos - 1], idx[pos - 1])) {
      dists[pos] = dists[pos - 1];
      idx[pos] = idx[pos - 1];
      --pos;
    }
    dists[pos] = d;
    idx[pos] = j;
  }

  // Fills the slots past the pairs found, up to K, with distance 0 and index `empty`.
  R3D_HD void pad(int64_t K, int64_t empty = 0) const {
    for (int64_t s = count; s < K; ++s) {
      dists[s] = T(0);
      idx[s] = empty;
    }
  }
};

}  // namespace r3d
