// Fine pass of the GPU mesh rasteriser (the scheme of common/gpu_fine.h): faces staged with
// their pixel box, each thread testing its pixel with the pair test and top-K list of
// rasterize_meshes.h.
#pragma once

#include <cstdint>

#include "common/gpu_bins.h"
#include "common/gpu_fine.h"
#include "rasterize_meshes/rasterize_meshes.h"

namespace r3d {

// The pixel box of face f (an item of common/gpu_bins.h's BinElements).
template <typename T>
struct FaceBoxOf {
  const T* face_verts;  // (F, 3, 3)
  RasterSettings s;
  R3D_HD PixelBox operator()(int64_t /*n*/, int64_t f) const {
    return face_pixel_box(face_verts + 9 * f, s);
  }
};
template <typename T>
using FaceElements = BinElements<FaceBoxOf<T>>;

template <typename T, bool Local>
struct MeshFinePixel;

// The mesh rasteriser's op of the fine pass.
template <typename T>
struct MeshFineOp {
  using Staged = StagedFace<T>;
  template <bool Local>
  using Pixel = MeshFinePixel<T, Local>;

  FaceElements<T> elements;
  GpuBinsView bins;
  RasterSettings s;
  RasterOut<T> out;

  R3D_HD Staged stage(int64_t e) const {
    int64_t n, f;
    const PixelBox box = elements.locate(e, &n, &f);
    return stage_face(elements.box_of.face_verts, f, box);
  }
};

// A thread's pixel and list.
template <typename T, bool Local>
struct MeshFinePixel : BinPixel<T> {
  static constexpr int kSlots = Local ? kLocalK : 1;
  int64_t count = 0;  // hits stored so far
  int64_t face[kSlots];
  T zbuf[kSlots], bary[3 * kSlots], dists[kSlots];

  R3D_HD MeshFinePixel(const MeshFineOp<T>& op, int64_t b, int64_t t)
      : BinPixel<T>(op.bins.grid, b, t, op.s.H, op.s.W) {}

  // The list so far: in this thread's arrays (Local) or in the output rows.
  R3D_HD PixelTopK<T> list(const MeshFineOp<T>& op) {
    if (Local) return PixelTopK<T>(face, zbuf, bary, dists, op.s.K, count);
    return op.out.row(this->q, op.s.K, count);
  }

  R3D_HD void test(const StagedFace<T>& sf, const MeshFineOp<T>& op) {
    const int64_t x = this->x, y = this->y;
    if (x < sf.x0 || x > sf.x1 || y < sf.y0 || y > sf.y1) return;
    const PixelFace<T> r = pixel_face(sf.v, this->px, this->py, op.s);
    if (!is_hit(r, op.s)) return;
    PixelTopK<T> top = list(op);
    top.push(r, sf.f);
    count = top.count;
  }

  // Writes the list to the output rows, padded with -1.
  R3D_HD void write(const MeshFineOp<T>& op) {
    PixelTopK<T> row = op.out.row(this->q, op.s.K, count);
    if (Local) {
      for (int64_t k = 0; k < count; ++k) {
        row.face[k] = face[k];
        row.zbuf[k] = zbuf[k];
        row.dists[k] = dists[k];
        for (int i = 0; i < 3; ++i) row.bary[3 * k + i] = bary[3 * k + i];
      }
    }
    row.pad();
  }
};

}  // namespace r3d
