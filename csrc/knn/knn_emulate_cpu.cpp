// The CUDA forward of knn_points run on the host, for tests on machines without a GPU: the grid
// schedule of knn_grid.h (the same grids, cell sort and shell searches), the tiled schedule of
// knn_tiled.h block by block (a block's queries visit each staged tile in turn), or the
// brute-force body, wherever the CUDA launcher takes each.
#include <algorithm>
#include <limits>
#include <new>
#include <numeric>
#include <vector>

#include "common/cpu_loop.h"
#include "knn/knn.h"
#include "knn/knn_grid.h"
#include "knn/knn_launchers.h"
#include "knn/knn_tiled.h"

namespace r3d {

namespace {

template <typename T, int D, int KMAX>
void emulate_tiled_block(const T* p1, const T* p2, const int64_t* lengths1,
                         const int64_t* lengths2, const KnnShape& s, int64_t n, int64_t first,
                         T* dists, int64_t* idx) {
  std::vector<TiledKnnQuery<T, D, KMAX>> queries;
  queries.reserve(kKnnBlock);
  for (int64_t t = 0; t < kKnnBlock; ++t) {
    const int64_t i = first + t;
    queries.emplace_back(p1, lengths1, s, n, i < s.P1 ? i : 0);
    queries.back().active = queries.back().active && i < s.P1;
  }
  const int64_t len2 = first < lengths1[n] ? lengths2[n] : 0;
  const T* cloud = p2 + n * s.P2 * D;
  std::vector<T> tile(kKnnBlock * D);
  for (int64_t t = 0; t < len2; t += kKnnBlock) {
    const int64_t m = std::min<int64_t>(len2 - t, kKnnBlock);
    std::copy(cloud + t * D, cloud + (t + m) * D, tile.begin());
    for (auto& query : queries)
      if (query.active)
        for (int64_t j = 0; j < m; ++j) query.visit(tile.data() + j * D, t + j, s.norm);
  }
  for (int64_t t = 0; t < kKnnBlock && first + t < s.P1; ++t)
    queries[t].write(lengths2, s, n, first + t, dists, idx);
}

// knn_grid_forward of knn_cuda.cu: the points of every cloud sorted into the cells of its grid
// by the same count and fill bodies (run in order here), then every query's shell search.
template <typename T>
void emulate_grid_forward(const T* p1, const T* p2, const int64_t* lengths1,
                          const int64_t* lengths2, const KnnShape& s, T* dists, int64_t* idx,
                          int num_threads) {
  const int64_t budget = knn_grid_budget(s.P2), slots = s.N * budget;
  std::vector<KnnGridCloud> grids(s.N);
  for (int64_t n = 0; n < s.N; ++n) {
    double lo[3], hi[3];
    std::fill(lo, lo + 3, std::numeric_limits<double>::infinity());
    std::fill(hi, hi + 3, -std::numeric_limits<double>::infinity());
    knn_grid_bounds(p2 + n * s.P2 * 3, lengths2[n], 0, 1, lo, hi);
    grids[n] = knn_grid_cloud(lo, hi, lengths2[n], budget);
  }
  const KnnGridSort<T> sort{p2, lengths2, s.P2, budget, grids.data()};
  std::vector<int64_t> first(slots + 1, 0);
  for (int64_t e = 0; e < s.N * s.P2; ++e) sort.count(e, first.data());
  std::exclusive_scan(first.begin(), first.end(), first.begin(), int64_t{0});
  std::vector<int64_t> cursor(first.begin(), first.end() - 1);
  std::vector<T> pts(3 * s.N * s.P2);
  std::vector<int32_t> ids(s.N * s.P2);
  for (int64_t e = 0; e < s.N * s.P2; ++e) sort.fill(e, cursor.data(), pts.data(), ids.data());
  dispatch_tiled_knn(3, s.K, [&](auto, auto kmax) {
    parallel_for(s.N * s.P1, 200, num_threads,
                 KnnGridSearch<T, decltype(kmax)::value>{p1, lengths1, lengths2, s, budget,
                                                         grids.data(), first.data(), pts.data(),
                                                         ids.data(), dists, idx});
  });
}

}  // namespace

template <typename T>
Status knn_forward_emulated(const T* p1, const T* p2, const int64_t* lengths1,
                            const int64_t* lengths2, KnnShape s, T* dists, int64_t* idx,
                            int num_threads) {
  const int64_t blocks = (s.P1 + kKnnBlock - 1) / kKnnBlock;
  try {
    if (use_knn_grid(s)) {
      emulate_grid_forward(p1, p2, lengths1, lengths2, s, dists, idx, num_threads);
      return Status::ok();
    }
    const bool tiled = dispatch_tiled_knn(s.D, s.K, [&](auto d, auto kmax) {
      parallel_for_dynamic(s.N * blocks, kKnnBlock * 100, num_threads, [&](int64_t b) {
        emulate_tiled_block<T, decltype(d)::value, decltype(kmax)::value>(
            p1, p2, lengths1, lengths2, s, b / blocks, b % blocks * kKnnBlock, dists, idx);
      });
    });
    if (!tiled)
      parallel_for(s.N * s.P1, 100, num_threads,
                   KnnBruteForce<T>{p1, p2, lengths1, lengths2, s, dists, idx});
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory emulating the CUDA knn_points");
  }
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                   \
  template Status knn_forward_emulated<T>(const T*, const T*, const int64_t*, const int64_t*, \
                                          KnnShape, T*, int64_t*, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
