// The tiled GPU schedule of knn_points: per-thread bodies shared by the CUDA kernel
// (knn_cuda.cu) and its host emulation (knn_emulate_cpu.cpp).
//
// A block of kKnnBlock threads takes kKnnBlock consecutive queries of one cloud; the block walks
// the cloud's points of p2 in tiles of kKnnBlock, staged in shared memory, and each thread
// compares its query with every point of the tile, keeping its KMAX best (distance, index) pairs
// in registers (RegisterTopK: fully unrolled, so the arrays stay in registers). D is a template
// parameter too, so the query's coordinates stay in registers. Same ordering as the CPU paths
// (TopK::before: distance, then index), so the results are the same.
#pragma once

#include <cstdint>
#include <limits>
#include <type_traits>

#include "common/macros.h"
#include "knn/knn.h"

namespace r3d {

constexpr int kKnnBlock = 256;

// The largest K the tiled kernel keeps in registers; larger K (and D above kKnnMaxTiledD) take
// the brute-force body.
constexpr int kKnnMaxTiledK = 32;
constexpr int kKnnMaxTiledD = 4;

// The KMAX best (distance, index) pairs so far, sorted, in arrays indexed only by constants
// once unrolled. Empty slots hold (max, max) and lose to every real pair.
template <typename T, int KMAX>
struct RegisterTopK {
  T dists[KMAX];
  int64_t idx[KMAX];

  R3D_HD RegisterTopK() {
    for (int k = 0; k < KMAX; ++k) {
      dists[k] = std::numeric_limits<T>::max();
      idx[k] = std::numeric_limits<int64_t>::max();
    }
  }

  // Inserts (d, j): walking the list, the candidate takes every slot it comes before and carries
  // the displaced pair on.
  R3D_HD void push(T d, int64_t j) {
    if (!TopK<T>::before(d, j, dists[KMAX - 1], idx[KMAX - 1])) return;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int k = 0; k < KMAX; ++k) {
      if (TopK<T>::before(d, j, dists[k], idx[k])) {
        const T dk = dists[k];
        const int64_t jk = idx[k];
        dists[k] = d, idx[k] = j;
        d = dk, j = jk;
      }
    }
  }
};

// The state of the thread of query i of cloud n.
template <typename T, int D, int KMAX>
struct TiledKnnQuery {
  T q[D];
  RegisterTopK<T, KMAX> top;
  bool active;  // a real query (i < lengths1[n])

  R3D_HD TiledKnnQuery(const T* p1, const int64_t* lengths1, const KnnShape& s, int64_t n,
                       int64_t i)
      : active(i < lengths1[n]) {
    for (int d = 0; d < D; ++d) q[d] = active ? p1[(n * s.P1 + i) * D + d] : T(0);
  }

  // Compares the query with point j of its cloud, whose coordinates are at point.
  R3D_HD void visit(const T* point, int64_t j, int norm) {
    top.push(knn_distance(q, point, D, norm), j);
  }

  // Writes the min(K, lengths2[n]) best of a real query, then zeros (all zeros when inactive).
  R3D_HD void write(const int64_t* lengths2, const KnnShape& s, int64_t n, int64_t i, T* dists,
                    int64_t* idx) const {
    const int64_t len2 = active ? lengths2[n] : 0;
    const int64_t k_eff = len2 < s.K ? len2 : s.K;
    T* d_out = dists + (n * s.P1 + i) * s.K;
    int64_t* i_out = idx + (n * s.P1 + i) * s.K;
#ifdef __CUDA_ARCH__
#pragma unroll
#endif
    for (int k = 0; k < KMAX; ++k) {  // constant indices: the lists stay in registers
      if (k < k_eff) d_out[k] = top.dists[k], i_out[k] = top.idx[k];
    }
    for (int64_t k = k_eff; k < s.K; ++k) d_out[k] = T(0), i_out[k] = 0;
  }
};

// Calls fn(std::integral_constant<int, D>{}, std::integral_constant<int, KMAX>{}) with the
// query's dimension D (1 to kKnnMaxTiledD) and the register list's size KMAX (the smallest power
// of two from 1 to kKnnMaxTiledK at least K); returns false, calling nothing, when D or K is too
// large for the tiled schedule.
template <int D = 1, typename Fn>
bool dispatch_tiled_knn(int64_t dim, int64_t K, const Fn& fn) {
  if constexpr (D > kKnnMaxTiledD) {
    return false;
  } else {
    if (dim != D) return dispatch_tiled_knn<D + 1>(dim, K, fn);
    if (K <= 1) fn(std::integral_constant<int, D>{}, std::integral_constant<int, 1>{});
    else if (K <= 2) fn(std::integral_constant<int, D>{}, std::integral_constant<int, 2>{});
    else if (K <= 4) fn(std::integral_constant<int, D>{}, std::integral_constant<int, 4>{});
    else if (K <= 8) fn(std::integral_constant<int, D>{}, std::integral_constant<int, 8>{});
    else if (K <= 16) fn(std::integral_constant<int, D>{}, std::integral_constant<int, 16>{});
    else if (K <= kKnnMaxTiledK)
      fn(std::integral_constant<int, D>{}, std::integral_constant<int, kKnnMaxTiledK>{});
    else return false;
    return true;
  }
}

}  // namespace r3d
