// Per-query bodies of ball_query and the uniform grid it searches, shared by the CPU launcher,
// the CUDA launcher and its host emulation.
//
// Clouds are padded: p1 (N, P1, D) queries, p2 (N, P2, D) searched points, lengths1/lengths2
// (N,) valid counts. For query (n, i) with i < lengths1[n], the neighbours are the FIRST K
// points j of cloud n of p2, in index order, with squared distance strictly below radius2 (not
// the K nearest). Outputs dists/idx (N, P1, K): the neighbours' squared distances and indices in
// increasing index order, then 0 / -1.
//
// D == 3 searches a uniform grid per cloud of p2: cells at least the radius wide (so the points
// within the radius of a query lie in the 3 x 3 x 3 cells around its own), each cell's points
// in index order, so that a cell is left as soon as its indices pass the K-th neighbour found so
// far. Other D scan the cloud in index order up to the K-th neighbour. Which points are
// neighbours never depends on the grid: the same distance is compared with radius2 either way.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "common/distance.h"
#include "common/macros.h"
#include "common/top_k.h"

namespace r3d {

struct BallQueryShape {
  int64_t N, P1, P2, D, K;
};

// A launcher's arguments. radius > 0: neighbours have squared distance below
// T(radius * radius); the grid is sized in double.
template <typename T>
struct BallQueryArgs {
  const T* p1;
  const T* p2;
  const int64_t* lengths1;
  const int64_t* lengths2;
  BallQueryShape s;
  double radius;
  T* dists;      // (N, P1, K)
  int64_t* idx;  // (N, P1, K)

  R3D_HD T radius2() const { return static_cast<T>(radius * radius); }
};

// The bounding box of some 3D points (lo > hi while empty).
template <typename T>
struct Box3 {
  T lo[3], hi[3];

  R3D_HD static Box3 empty() {
    const T inf = std::numeric_limits<T>::infinity();
    return Box3{{inf, inf, inf}, {-inf, -inf, -inf}};
  }
  R3D_HD void add(const T* p) {
    for (int a = 0; a < 3; ++a) {
      lo[a] = p[a] < lo[a] ? p[a] : lo[a];
      hi[a] = p[a] > hi[a] ? p[a] : hi[a];
    }
  }
  R3D_HD void merge(const Box3& b) {
    for (int a = 0; a < 3; ++a) {
      lo[a] = b.lo[a] < lo[a] ? b.lo[a] : lo[a];
      hi[a] = b.hi[a] > hi[a] ? b.hi[a] : hi[a];
    }
  }
};

// The grid of one cloud: dims[0] x dims[1] x dims[2] cubic cells of side h from corner lo,
// numbered x fastest. A cell index c of a cloud is c + n * (the cells per cloud) in the
// batch's cell arrays.
struct BallGrid {
  double lo[3];
  double h;
  int64_t dims[3];
};

// Cells per cloud of the batch's grids for clouds padded to P2 points: a cloud's grid never has
// more.
inline int64_t ball_cell_budget(int64_t P2) { return 4 * P2 + 64; }

// The grid of a cloud whose points span box: cells the radius wide (plus a margin far above the
// rounding of the distances), widened by factors of 1.25 until there are at most max_cells. An
// empty box, or one too wide for a double, gets one cell.
template <typename T>
R3D_HD inline BallGrid ball_grid(const Box3<T>& box, double radius, int64_t max_cells) {
  BallGrid g{{0.0, 0.0, 0.0}, 1.0, {1, 1, 1}};
  double ext[3], widest = 0.0;
  for (int a = 0; a < 3; ++a) {
    ext[a] = static_cast<double>(box.hi[a]) - static_cast<double>(box.lo[a]);
    widest = ext[a] > widest ? ext[a] : widest;
  }
  if (!(box.lo[0] <= box.hi[0]) || !(widest <= std::numeric_limits<double>::max())) return g;
  double h = radius * (1.0 + 1.0 / 1024);
  if (h < widest / static_cast<double>(max_cells)) h = widest / static_cast<double>(max_cells);
  for (;;) {
    double cells = 1.0;
    for (int a = 0; a < 3; ++a) {
      g.dims[a] = static_cast<int64_t>(ext[a] / h) + 1;
      cells *= static_cast<double>(g.dims[a]);
    }
    if (cells <= static_cast<double>(max_cells)) break;
    h *= 1.25;
  }
  for (int a = 0; a < 3; ++a) g.lo[a] = static_cast<double>(box.lo[a]);
  g.h = h;
  return g;
}

// The cell coordinate of x along axis a, in [-2, dims[a] + 1] (outside the grid within 2 cells;
// -2 for NaN, which callers refuse, so that no NaN is converted to an integer);
// 0 along an axis of one cell.
R3D_HD inline int64_t ball_axis_cell(double x, const BallGrid& g, int a) {
  if (g.dims[a] == 1) return 0;
  const double c = floor((x - g.lo[a]) / g.h);
  if (!(c >= -2.0)) return -2;
  return c > static_cast<double>(g.dims[a] + 1) ? g.dims[a] + 1 : static_cast<int64_t>(c);
}

// The cell (within its cloud's grid) of a point of the cloud.
template <typename T>
R3D_HD inline int64_t ball_point_cell(const T* p, const BallGrid& g) {
  int64_t c[3];
  for (int a = 0; a < 3; ++a) {
    const int64_t v = ball_axis_cell(static_cast<double>(p[a]), g, a);
    c[a] = v < 0 ? 0 : (v >= g.dims[a] ? g.dims[a] - 1 : v);
  }
  return (c[2] * g.dims[1] + c[1]) * g.dims[0] + c[0];
}

// The batch's grids: cloud n's grid, and the points of its cell c as
// sorted[first[n * C + c] .. first[n * C + c + 1]) (indices j into the cloud, ascending). No
// grids (null): the clouds are scanned whole.
struct BallCells {
  const BallGrid* grids;  // (N,)
  const int64_t* first;   // (N * C + 1,)
  const int32_t* sorted;  // (sum of lengths2,)
  int64_t C;              // cells per cloud
};

// The sort key of point j of cloud n (e = n * P2 + j): its cell in the batch's cell arrays,
// N * C for padding rows (sorted after every point).
template <typename T>
struct BallCellKey {
  const T* p2;
  const int64_t* lengths2;
  const BallGrid* grids;
  int64_t N, P2, C;

  R3D_HD int64_t operator()(int64_t e) const {
    const int64_t n = e / P2, j = e % P2;
    if (j >= lengths2[n]) return N * C;
    return n * C + ball_point_cell(p2 + e * 3, grids[n]);
  }
};

// Query q = n * P1 + i: with cells (D == 3), against the 27 cells around it in cloud n's grid;
// without (cells.grids null, any D), against the whole cloud in index order.
template <typename T>
struct BallQuery {
  BallQueryArgs<T> a;
  BallCells cells;

  R3D_HD void operator()(int64_t q) const {
    const BallQueryShape& s = a.s;
    const int64_t n = q / s.P1, i = q % s.P1;
    TopK<T, true> top(a.dists + q * s.K, a.idx + q * s.K, s.K);
    const T* query = a.p1 + q * s.D;
    const T* cloud = a.p2 + n * s.P2 * s.D;
    const int64_t len2 = i < a.lengths1[n] ? a.lengths2[n] : 0;
    const T radius2 = a.radius2();
    // point j (ascending along a scan) enters when within the radius; false once no later j can
    const auto consider = [&](int64_t j) {
      if (top.full() && j > top.last()) return false;
      const T d = squared_distance(query, cloud + j * s.D, s.D);
      if (d < radius2) top.push(d, j);
      return true;
    };
    if (cells.grids == nullptr) {
      for (int64_t j = 0; j < len2; ++j)
        if (!consider(j)) break;
    } else if (len2 > 0) {
      const BallGrid& g = cells.grids[n];
      int64_t lo[3], hi[3];
      for (int axis = 0; axis < 3; ++axis) {
        const int64_t c = ball_axis_cell(static_cast<double>(query[axis]), g, axis);
        lo[axis] = c > 0 ? c - 1 : 0;
        hi[axis] = c + 1 < g.dims[axis] ? c + 1 : g.dims[axis] - 1;
      }
      for (int64_t z = lo[2]; z <= hi[2]; ++z)
        for (int64_t y = lo[1]; y <= hi[1]; ++y)
          for (int64_t x = lo[0]; x <= hi[0]; ++x) {
            const int64_t cell = n * cells.C + (z * g.dims[1] + y) * g.dims[0] + x;
            for (int64_t r = cells.first[cell]; r < cells.first[cell + 1]; ++r)
              if (!consider(cells.sorted[r])) break;
          }
    }
    top.pad(s.K, -1);
  }
};

}  // namespace r3d
