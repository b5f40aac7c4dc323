// Screen bins of the CPU rasterisers (meshes and points).
//
// Each element (a face, a point) gives the inclusive rectangle of pixels it may reach. The coarse
// pass files it, in parallel over elements, into every bin (a rectangle of pixels, BinShape) of
// its image that the rectangle touches: a counting pass, a prefix sum and a fill, so the bins
// hold every element whatever their number and nothing is ever dropped.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "common/cpu_loop.h"
#include "common/pixel_box.h"
#include "common/raster.h"

namespace r3d {

// Side of the bins: bin_size when the caller gives one (> 0; capped at the image's longer side),
// else the largest power of two (8 to 64) whose output rows (B * B pixels of K slots of
// slot_bytes) fit a core's L2 cache and that still gives every thread several bins to take.
inline int64_t bin_side(int64_t bin_size, int64_t N, int64_t H, int64_t W, int64_t K,
                        int64_t slot_bytes, int num_threads) {
  if (bin_size > 0) return std::min(bin_size, std::max(H, W));
  int64_t B = 64;
  while (B > 8 && B * B * K * slot_bytes > (int64_t{256} << 10)) B /= 2;
  auto num_bins = [&](int64_t b) { return N * ((H + b - 1) / b) * ((W + b - 1) / b); };
  while (B > 8 && num_bins(B) < 8 * num_threads) B /= 2;
  return B;
}

// The NDC x of each pixel column (W,) and y of each pixel row (H,) of an H x W image, which the
// fine passes test every element of a bin against.
template <typename T>
struct PixelCentres {
  std::vector<T> xs, ys;
  PixelCentres(int64_t H, int64_t W) : xs(W), ys(H) {
    const int64_t min_side = std::min(H, W);
    for (int64_t x = 0; x < W; ++x) xs[x] = pixel_centre<T>(x, W, min_side);
    for (int64_t y = 0; y < H; ++y) ys[y] = pixel_centre<T>(y, H, min_side);
  }
};

// The size of the screen bins in pixels: square (side) or, say, stripes as wide as the image.
struct BinShape {
  int64_t w, h;
  BinShape(int64_t side) : w(side), h(side) {}  // NOLINT: a side converts to a square
  BinShape(int64_t width, int64_t height) : w(width), h(height) {}
};

// Screen bins of w x h pixels, image by image, and the elements filed into each (whatever the
// fine pass needs of an element: its index, or a copy of its data that it then reads in order).
template <typename Elem>
struct Bins {
  BinShape shape;
  int64_t nx, ny;              // bins per row of bins, rows of bins per image
  std::vector<int64_t> first;  // (num_bins + 1,): bin b holds elems[first[b] .. first[b + 1])
  std::vector<Elem> elems;
  int64_t pixels = 0;  // the pixels of all the elements' rectangles: the fine pass's tests
  // the bin column of each pixel column (W,) and bin row of each pixel row (H,), which spare
  // the coarse pass two divisions per element and side
  std::vector<int64_t> col_bin, row_bin;

  Bins(BinShape bin, int64_t H, int64_t W)
      : shape(bin), nx((W + bin.w - 1) / bin.w), ny((H + bin.h - 1) / bin.h), col_bin(W),
        row_bin(H) {
    for (int64_t x = 0; x < W; ++x) col_bin[x] = x / bin.w;
    for (int64_t y = 0; y < H; ++y) row_bin[y] = y / bin.h;
  }
  int64_t per_image() const { return nx * ny; }
  int64_t num_bins() const { return static_cast<int64_t>(first.size()) - 1; }
  // The pixel rectangle of bin b (image b / per_image()) in an H x W image.
  PixelBox box(int64_t b, int64_t H, int64_t W) const {
    const int64_t y0 = (b % per_image()) / nx * shape.h, x0 = b % nx * shape.w;
    return PixelBox{x0, std::min(W, x0 + shape.w) - 1, y0, std::min(H, y0 + shape.h) - 1};
  }
  // Runs fn(bin) for every bin of image n that the (non-empty, in-image) box touches.
  template <typename Fn>
  void for_each_bin(int64_t n, const PixelBox& box, const Fn& fn) const {
    const int64_t bx0 = col_bin[box.x0], bx1 = col_bin[box.x1];
    for (int64_t by = row_bin[box.y0]; by <= row_bin[box.y1]; ++by)
      for (int64_t bx = bx0; bx <= bx1; ++bx) fn(n * per_image() + by * nx + bx);
  }
};

// The cost of a fine pass's bin (cpu_loop.h units), on average: each element's pixels tested at
// test_cost each, and the K slots of each of the N x H x W pixels at slot_cost each.
template <typename Elem>
inline int64_t fine_bin_cost(const Bins<Elem>& bins, int64_t pixels, int64_t K, int64_t test_cost,
                             int64_t slot_cost) {
  const int64_t work = work_of(bins.pixels, test_cost) + work_of(pixels, slot_cost * K);
  return work / std::max<int64_t>(bins.num_bins(), 1);
}

// Cost units of filing one element in the coarse pass (its record, its box, its bins).
constexpr int64_t kBinElementCost = 32;

// The coarse pass: image n's elements are first[n] + [0, count[n]); make(e) gives the Elem
// stored for element e and box_of(elem) the pixels it reaches (a PixelBox). The elements of all
// images, in image order, are cut into contiguous shares (one per thread, as many as the work
// pays for); a counting pass gives each share its count in every bin, a scan (bin-major) gives
// it its own cursor in every bin, and a fill pass files the elements without atomics, so each
// bin holds its elements in index order whatever the number of shares. One parallel region per
// pass for the whole batch. Allocates; may throw std::bad_alloc.
template <typename Elem, typename Make, typename BoxOf>
Bins<Elem> bin_boxes(const int64_t* first, const int64_t* count, int64_t N, int64_t H, int64_t W,
                     BinShape shape, const Make& make, const BoxOf& box_of, int num_threads) {
  Bins<Elem> bins(shape, H, W);
  const int64_t num_bins = N * bins.per_image();
  bins.first.assign(num_bins + 1, 0);
  std::vector<int64_t> offset(N + 1, 0);  // image n's elements are [offset[n], offset[n + 1])
  for (int64_t n = 0; n < N; ++n) offset[n + 1] = offset[n] + count[n];
  const int64_t total = offset[N];
  const int shares = threads_for(work_of(total, kBinElementCost), total, num_threads);
  std::vector<int64_t> cursor(shares * num_bins, 0);  // (share, bin)
  std::vector<int64_t> pixels(shares, 0);             // per share
  // runs fn(share, image, elem, box) for every element that reaches a pixel
  auto for_each_share = [&](const auto& fn) {
    parallel_shares(total, shares, [&](int t, int64_t begin, int64_t end) {
      int64_t n = std::upper_bound(offset.begin(), offset.end(), begin) - offset.begin() - 1;
      for (int64_t k = begin; k < end; ++k) {
        while (k >= offset[n + 1]) ++n;
        const Elem elem = make(first[n] + k - offset[n]);
        const PixelBox box = box_of(elem);
        if (!box.empty()) fn(t, n, elem, box);
      }
    });
  };
  for_each_share([&](int t, int64_t n, const Elem&, const PixelBox& box) {
    bins.for_each_bin(n, box, [&](int64_t b) { ++cursor[t * num_bins + b]; });
    pixels[t] += (box.x1 - box.x0 + 1) * (box.y1 - box.y0 + 1);
  });
  for (int t = 0; t < shares; ++t) bins.pixels += pixels[t];
  int64_t pos = 0;
  for (int64_t b = 0; b < num_bins; ++b) {
    bins.first[b] = pos;
    for (int t = 0; t < shares; ++t) {
      const int64_t c = cursor[t * num_bins + b];
      cursor[t * num_bins + b] = pos;
      pos += c;
    }
  }
  bins.first[num_bins] = pos;
  bins.elems.resize(pos);
  for_each_share([&](int t, int64_t n, const Elem& elem, const PixelBox& box) {
    bins.for_each_bin(n, box, [&](int64_t b) { bins.elems[cursor[t * num_bins + b]++] = elem; });
  });
  return bins;
}

}  // namespace r3d
