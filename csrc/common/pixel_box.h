// Pixel rectangles of the rasterisers' elements (faces, points), host and device.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/macros.h"

namespace r3d {

// Inclusive pixel rectangle [x0, x1] x [y0, y1]; empty when x0 > x1 or y0 > y1.
struct PixelBox {
  int64_t x0, x1, y0, y1;
  R3D_HD bool empty() const { return x0 > x1 || y0 > y1; }
  R3D_HD bool contains(int64_t x, int64_t y) const {
    return x0 <= x && x <= x1 && y0 <= y && y <= y1;
  }
};

// The pixels along a side of S whose centres (S - 2 i - 1) / min_side may lie in [lo, hi],
// widened by one pixel against rounding, clipped to the image: sets [*first, *last]. Empty
// (first > last) when lo > hi or either is NaN.
R3D_HD inline void pixel_range(double lo, double hi, int64_t S, int64_t min_side, int64_t* first,
                               int64_t* last) {
  if (!(lo <= hi)) {
    *first = 0, *last = -1;
    return;
  }
  double a = ::ceil((S - 1 - hi * min_side) / 2.0) - 1;
  double b = ::floor((S - 1 - lo * min_side) / 2.0) + 1;
  a = a < 0.0 ? 0.0 : (a > static_cast<double>(S) ? static_cast<double>(S) : a);
  b = b < -1.0 ? -1.0 : (b > static_cast<double>(S - 1) ? static_cast<double>(S - 1) : b);
  *first = static_cast<int64_t>(a);
  *last = static_cast<int64_t>(b);
}

// The pixels of an H x W image whose centres may lie in [xlo, xhi] x [ylo, yhi] (NDC).
R3D_HD inline PixelBox pixel_box(double xlo, double xhi, double ylo, double yhi, int64_t H,
                                 int64_t W) {
  PixelBox box;
  const int64_t min_side = H < W ? H : W;
  pixel_range(xlo, xhi, W, min_side, &box.x0, &box.x1);
  pixel_range(ylo, yhi, H, min_side, &box.y0, &box.y1);
  return box;
}

}  // namespace r3d
