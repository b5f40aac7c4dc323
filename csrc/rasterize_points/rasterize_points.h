// Per-pixel bodies of rasterize_points, shared by the CPU and CUDA launchers.
//
// Inputs: points (P, 3) packed, NDC x, y and view depth z; radius (P,) the radius of each point's
// disc in NDC units; cloud_first and cloud_count (N,) give cloud n's points
// [cloud_first[n], cloud_first[n] + cloud_count[n]).
// Outputs, pixel q = (n * H + y) * W + x, slot k < K: idx (N, H, W, K) packed point index,
// zbuf (N, H, W, K) the point's depth, dists (N, H, W, K) squared NDC distance in x, y from the
// pixel centre to the point; slots sorted by (depth, point index), -1 past the hits.
//
// A point hits a pixel when it is not behind the camera (z >= 0) and the pixel centre lies
// strictly inside its disc (dists < radius^2). Pixel conventions: common/raster.h.
#pragma once

#include <cstdint>

#include "common/exact_math.h"
#include "common/macros.h"
#include "common/pixel_box.h"
#include "common/raster.h"

namespace r3d {

struct PointRasterSettings {
  int64_t N, H, W, K;
};

// Whether point p (x, y, z) of the given radius hits the pixel centred at (px, py); *dist2
// receives the squared distance in x, y.
// Rounded one operation at a time (common/exact_math.h), so that the GPU finds the CPU's hits.
template <typename T>
R3D_HD inline bool point_hit(const T* p, T radius, T px, T py, T* dist2) {
  const T dx = p[0] - px, dy = p[1] - py;
  *dist2 = add_rn(mul_rn(dx, dx), mul_rn(dy, dy));
  return p[2] >= T(0) && *dist2 < mul_rn(radius, radius);
}

// What the fine passes read of a point: position, radius, packed index and the pixels it can
// hit (a PixelBox, 4 int32: image sides are below 2^31).
template <typename T>
struct PointRecord {
  T v[3];
  T radius;
  int64_t index;
  int32_t x0, x1, y0, y1;

  R3D_HD PixelBox box() const { return PixelBox{x0, x1, y0, y1}; }
};

// The record of point p: no pixels behind the camera (nor for NaN).
template <typename T>
R3D_HD inline PointRecord<T> point_record(const T* points, const T* radius, int64_t p,
                                          const PointRasterSettings& s) {
  const T* v = points + 3 * p;
  PointRecord<T> rec{{v[0], v[1], v[2]}, radius[p], p, 0, -1, 0, -1};
  if (!(v[2] >= T(0))) return rec;
  const double x = v[0], y = v[1], r = rec.radius;
  const PixelBox box = pixel_box(x - r, x + r, y - r, y + r, s.H, s.W);
  rec.x0 = static_cast<int32_t>(box.x0), rec.x1 = static_cast<int32_t>(box.x1);
  rec.y0 = static_cast<int32_t>(box.y0), rec.y1 = static_cast<int32_t>(box.y1);
  return rec;
}

// The K nearest hits of one pixel, kept sorted by (depth, point index) in the output rows.
template <typename T>
struct PointTopK {
  int64_t* idx;
  T* zbuf;
  T* dists;
  int64_t K;
  int64_t count;  // hits stored so far

  R3D_HD PointTopK(int64_t* i, T* z, T* d, int64_t k, int64_t c)
      : idx(i), zbuf(z), dists(d), K(k), count(c) {}

  R3D_HD void push(int64_t p, T z, T dist2) {
    if (count == K && !nearer(z, p, zbuf[K - 1], idx[K - 1])) return;
    int64_t pos = count < K ? count++ : K - 1;
    for (; pos > 0 && nearer(z, p, zbuf[pos - 1], idx[pos - 1]); --pos) {
      idx[pos] = idx[pos - 1];
      zbuf[pos] = zbuf[pos - 1];
      dists[pos] = dists[pos - 1];
    }
    idx[pos] = p;
    zbuf[pos] = z;
    dists[pos] = dist2;
  }

  // Fills the slots past the hits with -1.
  R3D_HD void pad() {
    for (int64_t k = count; k < K; ++k) {
      idx[k] = -1;
      zbuf[k] = dists[k] = T(-1);
    }
  }
};

// Output rows of the forward (shapes in the header comment); row() is pixel q's top-K list.
template <typename T>
struct PointRasterOut {
  int64_t* idx;  // (N, H, W, K)
  T* zbuf;       // (N, H, W, K)
  T* dists;      // (N, H, W, K)

  // The list of pixel q with count hits already stored.
  R3D_HD PointTopK<T> row(int64_t q, int64_t K, int64_t count) const {
    return PointTopK<T>(idx + q * K, zbuf + q * K, dists + q * K, K, count);
  }
};

// Naive forward of pixel q: every point of its cloud (the CUDA launcher's path for a single bin;
// the binned paths run the same test and top-K list bin by bin).
template <typename T>
struct RasterizePointsPixelNaive {
  const T* points;             // (P, 3)
  const T* radius;             // (P,)
  const int64_t* cloud_first;  // (N,)
  const int64_t* cloud_count;  // (N,)
  PointRasterSettings s;
  PointRasterOut<T> out;

  R3D_HD void operator()(int64_t q) const {
    const int64_t n = q / (s.H * s.W), x = q % s.W, y = (q / s.W) % s.H;
    const int64_t min_side = s.H < s.W ? s.H : s.W;
    const T px = pixel_centre<T>(x, s.W, min_side), py = pixel_centre<T>(y, s.H, min_side);
    PointTopK<T> top = out.row(q, s.K, 0);
    for (int64_t p = cloud_first[n]; p < cloud_first[n] + cloud_count[n]; ++p) {
      T dist2;
      const T* v = points + 3 * p;
      if (point_hit(v, radius[p], px, py, &dist2)) top.push(p, v[2], dist2);
    }
    top.pad();
  }
};

// Backward of pixel q: adds to the gradient of the point of each of its slots that of its depth
// (d zbuf / d z = 1) and of its squared distance (d dists / d (x, y) = 2 (x - px, y - py)).
template <typename T>
struct RasterizePointsBackwardPixel {
  const T* points;      // (P, 3)
  const int64_t* idx;   // (N, H, W, K)
  const T* grad_zbuf;   // (N, H, W, K)
  const T* grad_dists;  // (N, H, W, K)
  PointRasterSettings s;
  T* grad_points;       // (P, 3), accumulated into

  // Sets g (3 values) to the gradient w.r.t. the point of slot k of pixel q and returns that
  // point, or returns -1 (g untouched) for an empty slot.
  R3D_HD int64_t slot_gradient(int64_t q, int64_t k, T* g) const {
    const int64_t slot = q * s.K + k;
    const int64_t p = idx[slot];
    if (p < 0) return -1;
    const int64_t x = q % s.W, y = (q / s.W) % s.H;
    const int64_t min_side = s.H < s.W ? s.H : s.W;
    const T px = pixel_centre<T>(x, s.W, min_side), py = pixel_centre<T>(y, s.H, min_side);
    const T gd = T(2) * grad_dists[slot];
    g[0] = gd * (points[3 * p] - px);
    g[1] = gd * (points[3 * p + 1] - py);
    g[2] = grad_zbuf[slot];
    return p;
  }

  R3D_HD void operator()(int64_t q) const {
    for (int64_t k = 0; k < s.K; ++k) {
      T g[3];
      const int64_t p = slot_gradient(q, k, g);
      if (p < 0) continue;
      for (int i = 0; i < 3; ++i) accumulate(grad_points + 3 * p + i, g[i]);
    }
  }
};

}  // namespace r3d
