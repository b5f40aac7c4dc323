// The uniform-grid GPU schedule of knn_points for large 3D clouds: bodies shared by the CUDA
// launcher (knn_cuda.cu) and its host emulation (knn_emulate_cpu.cpp).
//
// Each cloud n of p2 gets a grid of cubic cells over its bounding box, about
// kKnnGridPointsPerCell points a cell, in a slice of `budget` cells (the same for every cloud, so
// that the slices are known on the host): a count pass, an exclusive scan and a fill pass sort
// the cloud's points by cell (copies of their coordinates and their indices). A query then
// visits the cells in shells of growing Chebyshev distance r around its own cell (the nearest
// cell of the grid for a query outside it) and stops once its K-th best distance is below the
// distance to anything outside the shells visited, or the grid is covered. The list and its
// ordering are those of the tiled schedule (RegisterTopK: distance, then index), so the results
// are those of the CPU kd-tree.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/gpu_bins.h"  // fetch_add
#include "common/macros.h"
#include "knn/knn.h"
#include "knn/knn_tiled.h"

namespace r3d {

// The grid schedule serves D == 3, K <= kKnnMaxTiledK and clouds of p2 padded to at least
// kKnnGridMinPoints points (below, the tiled schedule is as fast). A model to tune on a GPU.
constexpr int64_t kKnnGridMinPoints = 4096;
constexpr int64_t kKnnGridPointsPerCell = 2;

// Cells a cloud's grid may use, for clouds padded to P2 points.
R3D_HD inline int64_t knn_grid_budget(int64_t P2) {
  const int64_t cells = 2 * P2 / kKnnGridPointsPerCell;
  return cells > 8 ? cells : 8;
}

// One cloud's grid: cell (cx, cy, cz) spans lo + [c, c + 1) h on each axis; G cells per axis.
struct KnnGridCloud {
  double lo[3];
  double h;
  int64_t G[3];

  // The cell coordinate of x on axis a, clamped to the grid (NaN: 0).
  R3D_HD int64_t coord(double x, int a) const {
    const double c = ::floor((x - lo[a]) / h);
    if (!(c >= 0)) return 0;
    return c >= static_cast<double>(G[a] - 1) ? G[a] - 1 : static_cast<int64_t>(c);
  }
  R3D_HD int64_t cell(int64_t cx, int64_t cy, int64_t cz) const {
    return (cz * G[1] + cy) * G[0] + cx;
  }
  template <typename T>
  R3D_HD int64_t cell_of(const T* p) const {
    return cell(coord(p[0], 0), coord(p[1], 1), coord(p[2], 2));
  }
};

// The grid of a cloud of len points with bounding box [lo, hi] in at most budget cells: cubic
// cells of about kKnnGridPointsPerCell points over the box's volume (flat sides count as one
// cell's width), enlarged until G[0] G[1] G[2] <= budget.
R3D_HD inline KnnGridCloud knn_grid_cloud(const double* lo, const double* hi, int64_t len,
                                          int64_t budget) {
  KnnGridCloud g;
  double ext[3], largest = 0;
  for (int a = 0; a < 3; ++a) {
    g.lo[a] = lo[a];
    ext[a] = hi[a] > lo[a] ? hi[a] - lo[a] : 0.0;
    largest = ext[a] > largest ? ext[a] : largest;
  }
  if (!(largest > 0) || len <= 1) {  // one cell (a point, or NaN bounds)
    g.h = 1;
    for (int a = 0; a < 3; ++a) g.G[a] = 1, g.lo[a] = lo[a] == lo[a] ? lo[a] : 0.0;
    return g;
  }
  const double cells = static_cast<double>(len) / kKnnGridPointsPerCell;
  double h = largest / ::cbrt(cells);  // the largest side cut in cbrt(cells) cells
  double volume = 1;                   // flat sides count as one such cell's width
  for (int a = 0; a < 3; ++a) volume *= (ext[a] > h ? ext[a] : h);
  h = ::cbrt(volume / cells);
  for (int iter = 0; iter < 256; ++iter) {  // at h >= largest there are at most 8 cells
    double product = 1;
    for (int a = 0; a < 3; ++a) {
      g.G[a] = static_cast<int64_t>(::floor(ext[a] / h)) + 1;
      product *= static_cast<double>(g.G[a]);
    }
    if (product <= static_cast<double>(budget)) break;
    h *= 1.25;
  }
  g.h = h;
  return g;
}

// Shell search of query q against the sorted cells of its cloud.
template <typename T, int KMAX>
struct KnnGridQuery {
  const T* q;  // (3,)
  int norm;

  // Visits the cells within Chebyshev distance r of cell c (clipped to the grid) and at exactly
  // r from it, running visit(pos) on each of their points' sorted positions.
  template <typename Visit>
  R3D_HD static void shell(const KnnGridCloud& g, const int64_t* c, int64_t r,
                           const int64_t* first, const Visit& visit) {
    for (int64_t dz = -r; dz <= r; ++dz) {
      const int64_t z = c[2] + dz;
      if (z < 0 || z >= g.G[2]) continue;
      for (int64_t dy = -r; dy <= r; ++dy) {
        const int64_t y = c[1] + dy;
        if (y < 0 || y >= g.G[1]) continue;
        const bool face = dz == -r || dz == r || dy == -r || dy == r;
        const int64_t step = face || r == 0 ? 1 : 2 * r;  // inside: only x = c - r and c + r
        for (int64_t dx = -r; dx <= r; dx += step) {
          const int64_t x = c[0] + dx;
          if (x < 0 || x >= g.G[0]) continue;
          const int64_t cell = g.cell(x, y, z);
          for (int64_t pos = first[cell]; pos < first[cell + 1]; ++pos) visit(pos);
        }
      }
    }
  }

  // The distance (in the op's norm) below which nothing outside the cells within r of c lies,
  // or -1 when those cells cover the grid. A margin of 1e-6 cells absorbs the rounding of the
  // points' cells.
  R3D_HD T outside_bound(const KnnGridCloud& g, const int64_t* c, int64_t r) const {
    double bound = -1;
    const double margin = 1e-5 * g.h;
    for (int a = 0; a < 3; ++a) {
      const double qa = static_cast<double>(q[a]);
      if (c[a] - r > 0) {
        const double d = qa - (g.lo[a] + static_cast<double>(c[a] - r) * g.h) - margin;
        bound = bound < 0 || d < bound ? d : bound;
      }
      if (c[a] + r < g.G[a] - 1) {
        const double d = g.lo[a] + static_cast<double>(c[a] + r + 1) * g.h - qa - margin;
        bound = bound < 0 || d < bound ? d : bound;
      }
    }
    if (bound == -1) return T(-1);
    bound = bound > 0 ? bound : 0;
    return static_cast<T>(norm == 2 ? bound * bound : bound);
  }

  // Fills top with q's KMAX nearest of the cloud: sorted coordinates pts (len, 3) and indices
  // ids (len,) of its points, cell offsets first (cells + 1,).
  R3D_HD void search(const KnnGridCloud& g, const int64_t* first, const T* pts,
                     const int32_t* ids, RegisterTopK<T, KMAX>& top) const {
    int64_t c[3];
    for (int a = 0; a < 3; ++a) c[a] = g.coord(static_cast<double>(q[a]), a);
    int64_t seen = 0;
    for (int64_t r = 0;; ++r) {
      shell(g, c, r, first, [&](int64_t pos) {
        top.push(knn_distance(q, pts + 3 * pos, 3, norm), ids[pos]);
        ++seen;
      });
      const T bound = outside_bound(g, c, r);
      if (bound < T(0)) return;                                 // the grid is covered
      if (seen >= KMAX && top.dists[KMAX - 1] < bound) return;  // nothing outside can enter
    }
  }
};

// The bounding box of cloud n's len points (fmin / fmax: NaN coordinates are ignored), folded
// into lo / hi (which start at +inf / -inf); points j = first, first + stride, ... < len.
template <typename T>
R3D_HD inline void knn_grid_bounds(const T* cloud, int64_t len, int64_t first, int64_t stride,
                                   double* lo, double* hi) {
  for (int64_t j = first; j < len; j += stride)
    for (int a = 0; a < 3; ++a) {
      lo[a] = ::fmin(lo[a], static_cast<double>(cloud[3 * j + a]));
      hi[a] = ::fmax(hi[a], static_cast<double>(cloud[3 * j + a]));
    }
}

// Count and fill passes over the padded points e = n * P2 + j of p2 (j < lengths2[n]): +1 in the
// count of the point's cell, or the point written at its cell's cursor (sorted coordinates pts
// (sum len2, 3) and indices ids). Cell c of cloud n is slot n * budget + c.
template <typename T>
struct KnnGridSort {
  const T* p2;
  const int64_t* lengths2;
  int64_t P2, budget;
  const KnnGridCloud* grids;  // (N,)

  R3D_HD int64_t slot(int64_t e) const {
    const int64_t n = e / P2;
    if (e % P2 >= lengths2[n]) return -1;
    return n * budget + grids[n].cell_of(p2 + 3 * e);
  }
  R3D_HD void count(int64_t e, int64_t* counts) const {
    const int64_t c = slot(e);
    if (c >= 0) fetch_add(counts + c, 1);
  }
  R3D_HD void fill(int64_t e, int64_t* cursor, T* pts, int32_t* ids) const {
    const int64_t c = slot(e);
    if (c < 0) return;
    const int64_t pos = fetch_add(cursor + c, 1);
    for (int a = 0; a < 3; ++a) pts[3 * pos + a] = p2[3 * e + a];
    ids[pos] = static_cast<int32_t>(e % P2);
  }
};

// The search of query q = n * P1 + i, written like the tiled schedule's.
template <typename T, int KMAX>
struct KnnGridSearch {
  const T* p1;
  const int64_t* lengths1;
  const int64_t* lengths2;
  KnnShape s;
  int64_t budget;
  const KnnGridCloud* grids;  // (N,)
  const int64_t* first;       // (N * budget + 1,) sorted positions of each cell
  const T* pts;               // (sum len2, 3)
  const int32_t* ids;         // (sum len2,)
  T* dists;                   // (N, P1, K)
  int64_t* idx;               // (N, P1, K)

  R3D_HD void operator()(int64_t q) const {
    const int64_t n = q / s.P1, i = q % s.P1;
    TiledKnnQuery<T, 3, KMAX> query(p1, lengths1, s, n, i);
    if (query.active && lengths2[n] > 0)
      KnnGridQuery<T, KMAX>{query.q, s.norm}.search(grids[n], first + n * budget, pts, ids,
                                                    query.top);
    query.write(lengths2, s, n, i, dists, idx);
  }
};

// Whether the CUDA forward takes the grid schedule (indices held as int32).
R3D_HD inline bool use_knn_grid(const KnnShape& s) {
  return s.D == 3 && s.K <= kKnnMaxTiledK && s.P2 >= kKnnGridMinPoints &&
         s.P2 <= int64_t{0x7fffffff};
}

}  // namespace r3d
