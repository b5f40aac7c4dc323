// CPU launchers of ball_query: for D == 3 each cloud's grid is built by a counting sort of its
// points into cells (in index order, so each cell lists its points ascending), the clouds as
// tasks, then the queries search the grids; other D scan the clouds.
#include <new>
#include <vector>

#include "ball_query/ball_query.h"
#include "ball_query/ball_query_launchers.h"
#include "common/cpu_loop.h"

namespace r3d {

namespace {

// Cost units of a grid query (27 cells of a few points, plus per neighbour asked for), of a
// point's part in building a grid, of a brute-force distance per coordinate.
constexpr int64_t kGridQueryCost = 300;
constexpr int64_t kCostPerNeighbour = 8;
constexpr int64_t kBuildCostPerPoint = 30;
constexpr int64_t kBruteCostPerCoord = 2;

// Cloud n's grid, its cells' starts first[n C .. n C + C) (and the points of its cells in
// sorted[seg .. seg + lengths2[n])): counts, exclusive scan from seg, fill in index order
// advancing each cell's start to its end, then every start shifted back by one cell.
template <typename T>
void build_cloud_grid(const BallQueryArgs<T>& a, int64_t C, int64_t n, int64_t seg,
                      BallGrid* grids, int64_t* first, int32_t* sorted) {
  const int64_t length = a.lengths2[n];
  const T* cloud = a.p2 + n * a.s.P2 * 3;
  Box3<T> box = Box3<T>::empty();
  for (int64_t j = 0; j < length; ++j) box.add(cloud + j * 3);
  const BallGrid g = ball_grid(box, a.radius, C);
  grids[n] = g;
  int64_t* start = first + n * C;
  for (int64_t c = 0; c < C; ++c) start[c] = 0;
  for (int64_t j = 0; j < length; ++j) ++start[ball_point_cell(cloud + j * 3, g)];
  int64_t run = seg;
  for (int64_t c = 0; c < C; ++c) {
    const int64_t count = start[c];
    start[c] = run;
    run += count;
  }
  for (int64_t j = 0; j < length; ++j)
    sorted[start[ball_point_cell(cloud + j * 3, g)]++] = static_cast<int32_t>(j);
  for (int64_t c = C - 1; c > 0; --c) start[c] = start[c - 1];
  start[0] = seg;
}

}  // namespace

template <typename T>
Status ball_query_forward_cpu(const BallQueryArgs<T>& a, int num_threads) {
  const BallQueryShape& s = a.s;
  const int64_t num_queries = s.N * s.P1;
  if (s.D != 3) {
    parallel_for_dynamic(num_queries, kBruteCostPerCoord * s.D * s.P2 + s.K, num_threads,
                         BallQuery<T>{a, BallCells{}});
    return Status::ok();
  }
  const int64_t C = ball_cell_budget(s.P2);
  std::vector<BallGrid> grids;
  std::vector<int64_t> first, seg;
  std::vector<int32_t> sorted;
  try {
    seg.assign(s.N + 1, 0);
    for (int64_t n = 0; n < s.N; ++n) seg[n + 1] = seg[n] + a.lengths2[n];
    grids.resize(s.N);
    first.resize(s.N * C + 1);
    sorted.resize(seg[s.N]);
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory building the ball_query grids");
  }
  first[s.N * C] = seg[s.N];
  const BallQuery<T> query{a, BallCells{grids.data(), first.data(), sorted.data(), C}};
  const int64_t build_work = work_of(s.N, kBuildCostPerPoint * s.P2 + 3 * C);
  parallel_build_then_for(
      s.N, build_work, num_queries, kGridQueryCost + kCostPerNeighbour * s.K, num_threads,
      [&](int64_t n) {
        build_cloud_grid(a, C, n, seg[n], grids.data(), first.data(), sorted.data());
      },
      query);
  return Status::ok();
}

template Status ball_query_forward_cpu<float>(const BallQueryArgs<float>&, int);
template Status ball_query_forward_cpu<double>(const BallQueryArgs<double>&, int);

}  // namespace r3d
