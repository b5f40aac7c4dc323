// Coarse pass of the GPU rasterisers (meshes and points): the per-element bodies, shared by the
// CUDA driver (common/gpu_bins.cuh) and its host emulation, which runs them one element at a time.
//
// The elements (faces, points) of image n are its items [first[n], first[n] + count[n]); they
// are numbered e in [0, E) image after image (offsets (N + 1,): the prefix sums of count). The
// coarse pass files every element into every square screen bin of B x B pixels of its image that
// its pixel box touches:
//  1. box pass, per element: for each candidate side, the number of bins its pixel box touches,
//     summed over the elements;
//  2. the side is chosen on the host from those sums (gpu_bin_side);
//  3. count pass, per element: +1 in every bin it touches;
//  4. exclusive scan of the counts: bin_first (num_bins + 1,);
//  5. fill pass, per element: its number e written at a cursor taken atomically in each bin.
// Bins hold every element whatever their number: nothing is ever dropped. The order within a bin
// depends on the schedule; the fine passes' total order (common/raster.h, nearer) makes their
// results independent of it.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "common/pixel_box.h"

namespace r3d {

// The candidate bin sides of the GPU fine passes: 8, 16 and 32 pixels (a thread per pixel of a
// bin, at most 1024 threads a block).
constexpr int kNumGpuBinSides = 3;
R3D_HD constexpr int64_t gpu_bin_side_candidate(int i) { return int64_t{8} << i; }

// The number of bins of side B that a non-empty box touches (0 for an empty box).
R3D_HD inline int64_t bins_touched(const PixelBox& box, int64_t B) {
  if (box.empty()) return 0;
  return (box.x1 / B - box.x0 / B + 1) * (box.y1 / B - box.y0 / B + 1);
}

// Square bins of side B over the images of a batch: bin b is (image, row, column) =
// (b / per_image(), b % per_image() / nx, b % nx). B == 0 stands for no bins (naive path).
struct BinGrid {
  int64_t B, nx, ny;

  R3D_HD static BinGrid make(int64_t B, int64_t H, int64_t W) {
    return B > 0 ? BinGrid{B, (W + B - 1) / B, (H + B - 1) / B} : BinGrid{0, 0, 0};
  }
  R3D_HD int64_t per_image() const { return nx * ny; }
  R3D_HD int64_t image(int64_t b) const { return b / per_image(); }
  R3D_HD int64_t x0(int64_t b) const { return b % nx * B; }
  R3D_HD int64_t y0(int64_t b) const { return b % per_image() / nx * B; }
  // Runs fn(bin) for every bin of image n that the non-empty box touches, row by row.
  template <typename Fn>
  R3D_HD void for_each_bin(int64_t n, const PixelBox& box, const Fn& fn) const {
    for (int64_t by = box.y0 / B; by <= box.y1 / B; ++by)
      for (int64_t bx = box.x0 / B; bx <= box.x1 / B; ++bx) fn(n * per_image() + by * nx + bx);
  }
};

// The image of element e: the n with offsets[n] <= e < offsets[n + 1] (binary search; empty
// images are skipped).
R3D_HD inline int64_t element_image(const int64_t* offsets, int64_t N, int64_t e) {
  int64_t lo = 0, hi = N - 1;  // offsets[lo] <= e < offsets[hi + 1]
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (offsets[mid] <= e) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

// Adds v to *addr and returns the old value: atomically on the GPU, plainly on the host.
R3D_HD inline int64_t fetch_add(int64_t* addr, int64_t v) {
#ifdef __CUDA_ARCH__
  return static_cast<int64_t>(atomicAdd(reinterpret_cast<unsigned long long*>(addr),
                                        static_cast<unsigned long long>(v)));
#else
  const int64_t old = *addr;
  *addr += v;
  return old;
#endif
}

// Offsets (N + 1,) of the elements of each image from their counts (N,): one thread's work.
R3D_HD inline void element_offsets(const int64_t* count, int64_t N, int64_t* offsets) {
  offsets[0] = 0;
  for (int64_t n = 0; n < N; ++n) offsets[n + 1] = offsets[n] + count[n];
}

// The elements of a batch and their pixel boxes: box_of(n, i) is the box of item i of image n.
template <typename BoxOf>
struct BinElements {
  const int64_t* first;    // (N,)
  const int64_t* offsets;  // (N + 1,)
  int64_t N;
  BoxOf box_of;

  // Sets the image and item of element e and returns its box.
  R3D_HD PixelBox locate(int64_t e, int64_t* n, int64_t* item) const {
    *n = element_image(offsets, N, e);
    *item = first[*n] + e - offsets[*n];
    return box_of(*n, *item);
  }
  // Step 1 for element e: adds to touched[i] the bins of side gpu_bin_side_candidate(i) it
  // touches.
  R3D_HD void count_touched(int64_t e, int64_t* touched) const {
    int64_t n, item;
    const PixelBox box = locate(e, &n, &item);
    for (int i = 0; i < kNumGpuBinSides; ++i)
      touched[i] += bins_touched(box, gpu_bin_side_candidate(i));
  }
  // Step 3 for element e: +1 in the count (num_bins,) of every bin of the grid it touches.
  R3D_HD void count_bins(int64_t e, const BinGrid& grid, int64_t* count) const {
    int64_t n, item;
    const PixelBox box = locate(e, &n, &item);
    if (!box.empty()) grid.for_each_bin(n, box, [&](int64_t b) { fetch_add(count + b, 1); });
  }
  // Step 5 for element e: e written in every bin it touches, at the bin's cursor (num_bins,),
  // which starts as the bin's first slot in elems.
  R3D_HD void fill_bins(int64_t e, const BinGrid& grid, int64_t* cursor, int32_t* elems) const {
    int64_t n, item;
    const PixelBox box = locate(e, &n, &item);
    if (box.empty()) return;
    grid.for_each_bin(n, box, [&](int64_t b) {
      elems[fetch_add(cursor + b, 1)] = static_cast<int32_t>(e);
    });
  }
};

// The cost model of gpu_bin_side, in units of one thread's test of one element against its
// pixel: the threads that run at once on a large GPU, and the cost of filing and staging one
// entry of a bin. To tune on a GPU (`r3d bench --device cuda`).
constexpr double kGpuThreads = 1 << 18;
constexpr double kGpuEntryCost = 64;

// The side of the bins of the fine pass for an N x H x W batch, or 0 for the naive path:
// bin_size >= max(H, W) (one bin over the image, PyTorch3D's bin_size=0) asks for the naive path;
// another bin_size > 0 is rounded down to a candidate (at least 8); bin_size 0 picks the
// candidate of least modelled cost, given touched[i], the bins that all elements touch at side
// i (the entries of the bins). The fine pass tests each entry against the B^2 pixels of its bin:
// touched B^2 tests spread over the GPU's threads, unless the bins are too few to fill it, when a
// thread's own tests (the entries of its bin, touched / bins on average) take longest; each entry
// also costs its filing and staging.
inline int64_t gpu_bin_side(int64_t bin_size, int64_t N, int64_t H, int64_t W,
                            const int64_t* touched) {
  if (bin_size >= (H > W ? H : W)) return 0;
  int64_t best = gpu_bin_side_candidate(0);
  if (bin_size > 0) {
    for (int i = 0; i < kNumGpuBinSides; ++i)
      if (gpu_bin_side_candidate(i) <= bin_size) best = gpu_bin_side_candidate(i);
    return best;
  }
  double best_cost = -1;
  for (int i = 0; i < kNumGpuBinSides; ++i) {
    const int64_t B = gpu_bin_side_candidate(i);
    const double bins = static_cast<double>(N * BinGrid::make(B, H, W).per_image());
    const double entries = static_cast<double>(touched[i]);
    const double tests = entries * static_cast<double>(B * B), serial = kGpuThreads * entries / bins;
    const double cost = (tests > serial ? tests : serial) + kGpuEntryCost * entries;
    if (best_cost < 0 || cost < best_cost) best = B, best_cost = cost;
  }
  return best;
}

}  // namespace r3d
