// Morton (Z-order) codes and ordering of 3D points: queries run in this order visit the same parts
// of a search tree one after the other, so its nodes stay in cache; points cut into runs of this
// order make small boxes; the GPU's bounding-volume hierarchies (point_mesh/lbvh.h) sort their
// elements by these codes.
#pragma once

#include <algorithm>
#include <cstdint>
#include <utility>
#include <vector>

#include "common/macros.h"

namespace r3d {

// Spreads the low 10 bits of v so that two zero bits follow each one.
R3D_HD inline uint32_t spread_bits(uint32_t v) {
  v &= 0x3ff;
  v = (v | (v << 16)) & 0x30000ff;
  v = (v | (v << 8)) & 0x300f00f;
  v = (v | (v << 4)) & 0x30c30c3;
  v = (v | (v << 2)) & 0x9249249;
  return v;
}

// The 30-bit Morton code of point p (3 values) in the box [lo, hi]: each coordinate scaled to
// [0, 1] over the box (0 along an axis where the box is flat, clamped, NaN as 0), quantised to
// 10 bits, bit b of axis d at bit 3 b + d.
template <typename T>
R3D_HD inline uint32_t morton_code(const T* p, const T* lo, const T* hi) {
  uint32_t code = 0;
  for (int d = 0; d < 3; ++d) {
    const T extent = hi[d] - lo[d];
    T unit = extent > T(0) ? (p[d] - lo[d]) / extent : T(0);
    unit = unit > T(0) ? (unit < T(1) ? unit : T(1)) : T(0);
    code |= spread_bits(static_cast<uint32_t>(unit * T(1023))) << d;
  }
  return code;
}

// The Morton codes of count points over their bounding box, point i being
// points[stride * i + (0, 1, 2)].
template <typename T>
void morton_codes(const T* points, int64_t stride, int64_t count, uint32_t* codes) {
  if (count == 0) return;
  T lo[3], hi[3];
  for (int d = 0; d < 3; ++d) lo[d] = hi[d] = points[d];
  for (int64_t i = 1; i < count; ++i)
    for (int d = 0; d < 3; ++d) {
      lo[d] = std::min(lo[d], points[stride * i + d]);
      hi[d] = std::max(hi[d], points[stride * i + d]);
    }
  for (int64_t i = 0; i < count; ++i) codes[i] = morton_code(points + stride * i, lo, hi);
}

// The indices [0, count) sorted by codes (stable: ties in index order) into order, with
// scratch of count entries: LSD radix sort, 10 bits a pass. Allocates nothing.
template <typename Index>
void morton_sort(const uint32_t* codes, int64_t count, Index* order, Index* scratch) {
  Index* src = order;
  Index* dst = scratch;
  for (int64_t i = 0; i < count; ++i) src[i] = static_cast<Index>(i);
  for (int shift = 0; shift < 30; shift += 10) {
    int64_t bucket[1025] = {};
    for (int64_t i = 0; i < count; ++i) ++bucket[((codes[src[i]] >> shift) & 0x3ff) + 1];
    for (int b = 0; b < 1024; ++b) bucket[b + 1] += bucket[b];
    for (int64_t i = 0; i < count; ++i) dst[bucket[(codes[src[i]] >> shift) & 0x3ff]++] = src[i];
    std::swap(src, dst);
  }
  if (src != order) std::copy(src, src + count, order);
}

// Appends to order the indices first + [0, count) of count points, point i being
// points[stride * i + (0, 1, 2)], sorted along a Morton curve over their bounding box; codes and
// scratch are work buffers. Throws std::bad_alloc: call outside parallel regions.
template <typename T>
void append_morton_order(const T* points, int64_t stride, int64_t count, int64_t first,
                         std::vector<int64_t>& order, std::vector<uint32_t>& codes,
                         std::vector<int64_t>& scratch) {
  if (count == 0) return;
  codes.resize(count);
  morton_codes(points, stride, count, codes.data());
  const size_t start = order.size();
  order.resize(start + count);
  scratch.resize(count);
  morton_sort(codes.data(), count, order.data() + start, scratch.data());
  // store the sorted local indices as global query ids
  for (int64_t i = 0; i < count; ++i) order[start + i] += first;
}

}  // namespace r3d
