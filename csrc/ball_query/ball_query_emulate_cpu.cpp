// The CUDA launcher of ball_query run on the host, for tests on machines without a GPU: each
// cloud's box as its block reduces it (strided boxes per thread, then a tree), the points' keys,
// the counts and their exclusive scan, a stable sort by key (the radix sort), then the queries,
// with the bodies ball_query_cuda.cu runs.
#include <algorithm>
#include <new>
#include <numeric>
#include <vector>

#include "ball_query/ball_query.h"
#include "ball_query/ball_query_launchers.h"
#include "common/cpu_loop.h"

namespace r3d {

namespace {

constexpr int kBoxThreads = 256;  // as ball_grid_kernel

// The block of cloud n of ball_grid_kernel: strided boxes per thread, merged by a tree.
template <typename T>
BallGrid emulate_grid_block(const BallQueryArgs<T>& a, int64_t C, int64_t n) {
  Box3<T> boxes[kBoxThreads];
  for (int t = 0; t < kBoxThreads; ++t) {
    boxes[t] = Box3<T>::empty();
    for (int64_t j = t; j < a.lengths2[n]; j += kBoxThreads)
      boxes[t].add(a.p2 + (n * a.s.P2 + j) * 3);
  }
  for (int stride = kBoxThreads / 2; stride > 0; stride /= 2)
    for (int t = 0; t < stride; ++t) boxes[t].merge(boxes[t + stride]);
  return ball_grid(boxes[0], a.radius, C);
}

}  // namespace

template <typename T>
Status ball_query_forward_emulated(const BallQueryArgs<T>& a, int num_threads) {
  const BallQueryShape& s = a.s;
  const int64_t num_queries = s.N * s.P1;
  if (s.D != 3 || s.P2 == 0) {
    parallel_for(num_queries, s.P2 * s.D + s.K, num_threads, BallQuery<T>{a, BallCells{}});
    return Status::ok();
  }
  const int64_t C = ball_cell_budget(s.P2), E = s.N * s.P2, num_cells = s.N * C;
  try {
    std::vector<BallGrid> grids(s.N);
    for (int64_t n = 0; n < s.N; ++n) grids[n] = emulate_grid_block(a, C, n);
    const BallCellKey<T> key{a.p2, a.lengths2, grids.data(), s.N, s.P2, C};
    std::vector<int64_t> keys(E), counts(num_cells + 1, 0), first(num_cells + 1);
    std::vector<int32_t> vals(E), sorted(E);
    for (int64_t e = 0; e < E; ++e) {
      keys[e] = key(e);
      vals[e] = static_cast<int32_t>(e % s.P2);
      ++counts[keys[e]];
    }
    std::exclusive_scan(counts.begin(), counts.end(), first.begin(), int64_t{0});
    std::vector<int64_t> order(E);
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t x, int64_t y) { return keys[x] < keys[y]; });
    for (int64_t r = 0; r < E; ++r) sorted[r] = vals[order[r]];
    parallel_for(num_queries, 300, num_threads,
                 BallQuery<T>{a, BallCells{grids.data(), first.data(), sorted.data(), C}});
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory emulating the CUDA ball_query");
  }
  return Status::ok();
}

template Status ball_query_forward_emulated<float>(const BallQueryArgs<float>&, int);
template Status ball_query_forward_emulated<double>(const BallQueryArgs<double>&, int);

}  // namespace r3d
