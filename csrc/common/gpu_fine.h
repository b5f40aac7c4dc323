// Fine pass of the GPU rasterisers (meshes and points): what the CUDA kernel (common/
// gpu_fine.cuh) and its host emulation (common/gpu_emulate.h) share.
//
// One thread block per bin of the coarse pass (common/gpu_bins.h), one thread per pixel of the
// bin. The block walks the bin's elements in chunks of kStageChunk: its threads copy the chunk's
// elements into shared memory (Op::stage), then each thread tests its pixel against every staged
// element (Pixel::test) and at last writes its list (Pixel::write). An op (MeshFineOp,
// PointFineOp) provides:
//   typename Op::Staged                       an element as the fine pass reads it;
//   R3D_HD Staged Op::stage(int64_t e) const  element e, from the op's inputs;
//   typename Op::template Pixel<Local>        a thread's state: constructed from (op, bin,
//       thread), `bool active` (its pixel lies in the image), test(staged, op), write(op);
//       with Local, a list of K <= kLocalK hits lives in the thread's own arrays until written;
//   GpuBinsView bins                          the coarse pass's bins.
#pragma once

#include <cstdint>

#include "common/gpu_bins.h"
#include "common/macros.h"
#include "common/raster.h"

namespace r3d {

// Elements staged in shared memory per chunk of a bin.
constexpr int kStageChunk = 256;
// Lists of K <= kLocalK hits live in each thread's own arrays until they are written out; longer
// ones are kept in the output rows.
constexpr int kLocalK = 8;

// The coarse pass's result as the fine pass reads it.
struct GpuBinsView {
  BinGrid grid;
  const int64_t* first;  // (num_bins + 1,): bin b holds elems[first[b] .. first[b + 1])
  const int32_t* elems;  // element numbers
};

// The pixel of thread t of the block of bin b (x, y may lie past the image in edge bins) and its
// index q in (N, H, W) and NDC centre.
template <typename T>
struct BinPixel {
  int64_t x, y, q;
  T px, py;
  bool active;

  R3D_HD BinPixel(const BinGrid& grid, int64_t b, int64_t t, int64_t H, int64_t W)
      : x(grid.x0(b) + t % grid.B), y(grid.y0(b) + t / grid.B) {
    active = x < W && y < H;
    q = (grid.image(b) * H + y) * W + x;
    const int64_t min_side = H < W ? H : W;
    px = pixel_centre<T>(x, W, min_side);
    py = pixel_centre<T>(y, H, min_side);
  }
};

}  // namespace r3d
