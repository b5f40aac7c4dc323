// Per-query bodies of knn_points, shared by the CPU and CUDA launchers.
//
// Clouds are padded: p1 (N, P1, D) queries, p2 (N, P2, D) searched points, lengths1/lengths2
// (N,) valid counts. Outputs dists/idx (N, P1, K) hold, for query (n, i), the k_eff =
// min(K, lengths2[n]) nearest points sorted by (distance, index), then zeros. Distances are
// squared Euclidean (norm 2) or L1 (norm 1).
#pragma once

#include <cstdint>

#include "common/distance.h"
#include "common/exact_math.h"
#include "common/macros.h"
#include "common/top_k.h"

namespace r3d {

// Distance between two D-vectors: squared L2 (norm == 2) or L1, each operation rounded on its
// own (common/exact_math.h) so that every path, CPU or GPU, finds the same distances and ties.
template <typename T>
R3D_HD inline T knn_distance(const T* a, const T* b, int64_t D, int norm) {
  T acc = T(0);
  for (int64_t d = 0; d < D; ++d) {
    const T diff = a[d] - b[d];
    acc = add_rn(acc, norm == 2 ? mul_rn(diff, diff) : (diff < T(0) ? -diff : diff));
  }
  return acc;
}

// Shapes shared by the forward and backward bodies.
struct KnnShape {
  int64_t N, P1, P2, D, K;
  int norm;
};

// Brute force for query q = n * P1 + i: scans the whole of cloud n of p2.
template <typename T>
struct KnnBruteForce {
  const T* p1;
  const T* p2;
  const int64_t* lengths1;
  const int64_t* lengths2;
  KnnShape s;
  T* dists;      // (N, P1, K)
  int64_t* idx;  // (N, P1, K)

  R3D_HD void operator()(int64_t q) const {
    const int64_t n = q / s.P1, i = q % s.P1;
    const int64_t len2 = i < lengths1[n] ? lengths2[n] : 0;
    TopK<T> top(dists + q * s.K, idx + q * s.K, len2 < s.K ? len2 : s.K);
    const T* query = p1 + q * s.D;
    const T* cloud = p2 + n * s.P2 * s.D;
    for (int64_t j = 0; j < len2; ++j) top.push(knn_distance(query, cloud + j * s.D, s.D, s.norm), j);
    top.pad(s.K);
  }
};

// Backward for query q: grad_p1 (N, P1, D) gets the gradient w.r.t. the query; grad_pairs
// (N, P1, K, D) the gradient w.r.t. each neighbour, which the caller scatters onto p2 (this
// keeps the body free of atomics). Slots without a neighbour (k >= min(K, lengths2[n]), a
// padded query, or index -1 as ball_query leaves them) get zeros.
template <typename T>
struct KnnBackward {
  const T* p1;
  const T* p2;
  const int64_t* lengths1;
  const int64_t* lengths2;
  const int64_t* idx;       // (N, P1, K)
  const T* grad_dists;      // (N, P1, K)
  KnnShape s;
  T* grad_p1;               // (N, P1, D)
  T* grad_pairs;            // (N, P1, K, D)

  R3D_HD void operator()(int64_t q) const {
    const int64_t n = q / s.P1, i = q % s.P1;
    const int64_t len2 = i < lengths1[n] ? lengths2[n] : 0;
    const int64_t k_eff = len2 < s.K ? len2 : s.K;
    const T* query = p1 + q * s.D;
    T* g1 = grad_p1 + q * s.D;
    for (int64_t d = 0; d < s.D; ++d) g1[d] = T(0);
    for (int64_t k = 0; k < s.K; ++k) {
      T* gp = grad_pairs + (q * s.K + k) * s.D;
      const int64_t j = idx[q * s.K + k];
      if (k >= k_eff || j < 0) {
        for (int64_t d = 0; d < s.D; ++d) gp[d] = T(0);
        continue;
      }
      const T* point = p2 + (n * s.P2 + j) * s.D;
      pair_distance_gradient(query, point, grad_dists[q * s.K + k], s.D, s.norm, g1, gp);
    }
  }
};

}  // namespace r3d
