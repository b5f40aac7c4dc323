// Fine pass of the GPU point rasteriser (the scheme of common/gpu_fine.h): points staged as
// their PointRecord, each thread testing its pixel with the test and top-K list of
// rasterize_points.h.
#pragma once

#include <cstdint>

#include "common/gpu_bins.h"
#include "common/gpu_fine.h"
#include "rasterize_points/rasterize_points.h"

namespace r3d {

// The pixel box of point p (an item of common/gpu_bins.h's BinElements).
template <typename T>
struct PointBoxOf {
  const T* points;  // (P, 3)
  const T* radius;  // (P,)
  PointRasterSettings s;
  R3D_HD PixelBox operator()(int64_t /*n*/, int64_t p) const {
    return point_record(points, radius, p, s).box();
  }
};
template <typename T>
using PointElements = BinElements<PointBoxOf<T>>;

template <typename T, bool Local>
struct PointFinePixel;

// The point rasteriser's op of the fine pass.
template <typename T>
struct PointFineOp {
  using Staged = PointRecord<T>;
  template <bool Local>
  using Pixel = PointFinePixel<T, Local>;

  PointElements<T> elements;
  GpuBinsView bins;
  PointRasterSettings s;
  PointRasterOut<T> out;

  R3D_HD Staged stage(int64_t e) const {
    int64_t n, p;
    elements.locate(e, &n, &p);
    return point_record(elements.box_of.points, elements.box_of.radius, p, s);
  }
};

// A thread's pixel and list.
template <typename T, bool Local>
struct PointFinePixel : BinPixel<T> {
  static constexpr int kSlots = Local ? kLocalK : 1;
  int64_t count = 0;  // hits stored so far
  int64_t idx[kSlots];
  T zbuf[kSlots], dists[kSlots];

  R3D_HD PointFinePixel(const PointFineOp<T>& op, int64_t b, int64_t t)
      : BinPixel<T>(op.bins.grid, b, t, op.s.H, op.s.W) {}

  // The list so far: in this thread's arrays (Local) or in the output rows.
  R3D_HD PointTopK<T> list(const PointFineOp<T>& op) {
    if (Local) return PointTopK<T>(idx, zbuf, dists, op.s.K, count);
    return op.out.row(this->q, op.s.K, count);
  }

  R3D_HD void test(const PointRecord<T>& rec, const PointFineOp<T>& op) {
    if (!rec.box().contains(this->x, this->y)) return;
    T dist2;
    if (!point_hit(rec.v, rec.radius, this->px, this->py, &dist2)) return;
    PointTopK<T> top = list(op);
    top.push(rec.index, rec.v[2], dist2);
    count = top.count;
  }

  // Writes the list to the output rows, padded with -1.
  R3D_HD void write(const PointFineOp<T>& op) {
    PointTopK<T> row = op.out.row(this->q, op.s.K, count);
    if (Local) {
      for (int64_t k = 0; k < count; ++k) {
        row.idx[k] = idx[k];
        row.zbuf[k] = zbuf[k];
        row.dists[k] = dists[k];
      }
    }
    row.pad();
  }
};

}  // namespace r3d
