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

// The pixels along a side of S whose centres (S - 2 i - 1) / min_side lie in [lo, hi], widened
// by pad pixels each way, clipped to the image: sets [*first, *last]. Empty (first > last) when
// lo > hi or either is NaN.
R3D_HD inline void pixel_range(double lo, double hi, int64_t S, int64_t min_side, int64_t pad,
                               int64_t* first, int64_t* last) {
  if (!(lo <= hi)) {
    *first = 0, *last = -1;
    return;
  }
  // the centres in [lo, hi] are i in [u, w]; clamped first (which changes no clipped result)
  // so that rounding to an integer by conversion stays in range
  const double top = static_cast<double>(S + pad + 1), bottom = static_cast<double>(-pad - 1);
  double u = (S - 1 - hi * min_side) / 2.0, w = (S - 1 - lo * min_side) / 2.0;
  u = u > bottom ? u : bottom, w = w > bottom ? w : bottom;
  u = u < top ? u : top, w = w < top ? w : top;
  int64_t a = static_cast<int64_t>(u), b = static_cast<int64_t>(w);  // towards zero
  a += a < u ? 1 : 0;  // ceil(u)
  b -= b > w ? 1 : 0;  // floor(w)
  a -= pad, b += pad;
  *first = a < 0 ? 0 : (a > S ? S : a);
  *last = b < -1 ? -1 : (b > S - 1 ? S - 1 : b);
}

// The pixels of an H x W image whose centres lie in [xlo, xhi] x [ylo, yhi] (NDC), widened by
// pad pixels each way (1 by default, against rounding).
R3D_HD inline PixelBox pixel_box(double xlo, double xhi, double ylo, double yhi, int64_t H,
                                 int64_t W, int64_t pad = 1) {
  PixelBox box;
  const int64_t min_side = H < W ? H : W;
  pixel_range(xlo, xhi, W, min_side, pad, &box.x0, &box.x1);
  pixel_range(ylo, yhi, H, min_side, pad, &box.y0, &box.y1);
  return box;
}

}  // namespace r3d
