// Fine pass of the GPU mesh rasteriser: the per-thread bodies, shared by the CUDA kernel
// (rasterize_meshes_cuda.cu) and its host emulation (rasterize_meshes_emulate_cpu.cpp), which
// runs the same schedule one thread after another.
//
// One thread block per bin of the coarse pass (common/gpu_bins.h), one thread per pixel of the
// bin. The block walks the bin's faces in chunks of kStageChunk: its threads copy the chunk's
// faces (corners, pixel box, packed index) into shared memory (stage_face), then each thread tests
// its pixel against every staged face whose box holds it, with the pair test and top-K list of
// rasterize_meshes.h, and finally writes its list (FinePixel).
#pragma once

#include <cstdint>

#include "common/gpu_bins.h"
#include "rasterize_meshes/rasterize_meshes.h"

namespace r3d {

// Faces staged in shared memory per chunk of a bin.
constexpr int kStageChunk = 256;
// Lists of K <= kLocalK hits live in each thread's own arrays until they are written out; longer
// ones are kept in the output rows.
constexpr int kLocalK = 8;

// A face as the fine pass reads it: corners (x, y, z each), pixel box and packed index.
template <typename T>
struct StagedFace {
  T v[9];
  int32_t x0, x1, y0, y1;
  int64_t f;
};

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

// Element e of the coarse pass as the fine pass reads it.
template <typename T>
R3D_HD inline StagedFace<T> stage_face(const FaceElements<T>& elements, int64_t e) {
  StagedFace<T> sf;
  int64_t n;
  const PixelBox box = elements.locate(e, &n, &sf.f);
  for (int i = 0; i < 9; ++i) sf.v[i] = elements.box_of.face_verts[9 * sf.f + i];
  sf.x0 = static_cast<int32_t>(box.x0), sf.x1 = static_cast<int32_t>(box.x1);
  sf.y0 = static_cast<int32_t>(box.y0), sf.y1 = static_cast<int32_t>(box.y1);
  return sf;
}

// Thread t of the block of bin b: its pixel, its hits so far, and (Local) the list's storage.
template <typename T, bool Local>
struct FinePixel {
  static constexpr int kSlots = Local ? kLocalK : 1;
  int64_t x, y, q;
  T px, py;
  bool active;    // the pixel lies in the image (edge bins overhang it)
  int64_t count;  // hits stored so far
  int64_t face[kSlots];
  T zbuf[kSlots], bary[3 * kSlots], dists[kSlots];

  R3D_HD FinePixel(const BinGrid& grid, int64_t b, int64_t t, const RasterSettings& s)
      : x(grid.x0(b) + t % grid.B), y(grid.y0(b) + t / grid.B), count(0) {
    active = x < s.W && y < s.H;
    q = (grid.image(b) * s.H + y) * s.W + x;
    const int64_t min_side = s.H < s.W ? s.H : s.W;
    px = pixel_centre<T>(x, s.W, min_side);
    py = pixel_centre<T>(y, s.H, min_side);
  }

  // The list so far: in this thread's arrays (Local) or in the output rows.
  R3D_HD PixelTopK<T> list(const RasterSettings& s, const RasterOut<T>& out) {
    if (Local) return PixelTopK<T>(face, zbuf, bary, dists, s.K, count);
    return out.row(q, s.K, count);
  }

  // Tests the pixel (active) against a staged face.
  R3D_HD void test(const StagedFace<T>& sf, const RasterSettings& s, const RasterOut<T>& out) {
    if (x < sf.x0 || x > sf.x1 || y < sf.y0 || y > sf.y1) return;
    const PixelFace<T> r = pixel_face(sf.v, px, py, s);
    if (!is_hit(r, s)) return;
    PixelTopK<T> top = list(s, out);
    top.push(r, sf.f);
    count = top.count;
  }

  // Writes the list (active) to the output rows, padded with -1.
  R3D_HD void write(const RasterSettings& s, const RasterOut<T>& out) {
    PixelTopK<T> row = out.row(q, s.K, count);
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

// Everything the fine pass reads: the faces and the coarse pass's bins.
template <typename T>
struct FineInputs {
  FaceElements<T> elements;
  BinGrid grid;
  const int64_t* bin_first;  // (num_bins + 1,)
  const int32_t* elems;      // (bin_first[num_bins],) element numbers
};

}  // namespace r3d
