// CPU launchers of rasterize_points.
//
// Forward in two passes. The coarse pass (common/screen_bins.h) gives each point in front of the
// camera the rectangle of pixels its disc may reach and files it into every square screen bin
// that rectangle touches, so the bins hold every point whatever their number (none is dropped,
// however many pile up in one bin). The fine pass, in parallel over bins, tests each point of a
// bin against the pixels of its rectangle inside the bin, keeping each pixel's K nearest hits.
// The backward runs over pixels with a gradient buffer per thread: O(P) memory per thread.
#include <algorithm>
#include <cstdint>
#include <new>
#include <vector>

#include "common/cpu_loop.h"
#include "common/screen_bins.h"
#include "rasterize_points/rasterize_points.h"
#include "rasterize_points/rasterize_points_launchers.h"

namespace r3d {

namespace {

// Cost units of the test of a pixel against a point, of one slot of a pixel's output and of one
// slot's backward.
constexpr int64_t kPixelTestCost = 20;
constexpr int64_t kSlotCost = 2;
constexpr int64_t kSlotBackwardCost = 20;

}  // namespace

template <typename T>
Status rasterize_points_forward_cpu(const T* points, const T* radius, const int64_t* cloud_first,
                                    const int64_t* cloud_count, PointRasterSettings s,
                                    int64_t bin_size, int64_t* idx, T* zbuf, T* dists,
                                    int num_threads) {
  if (s.N * s.H * s.W == 0) return Status::ok();
  if (s.H > INT32_MAX || s.W > INT32_MAX)
    return Status::error("rasterize_points: image sides must be below 2^31 pixels");
  try {
    const int64_t slot_bytes = sizeof(int64_t) + 2 * sizeof(T);
    const int64_t B = bin_side(bin_size, s.N, s.H, s.W, s.K, slot_bytes, num_threads);
    const Bins<PointRecord<T>> bins = bin_boxes<PointRecord<T>>(
        cloud_first, cloud_count, s.N, s.H, s.W, B,
        [&](int64_t p) { return point_record(points, radius, p, s); },
        [](const PointRecord<T>& rec) { return rec.box(); }, num_threads);
    const PixelCentres<T> centres(s.H, s.W);
    const std::vector<T>& xs = centres.xs;
    const std::vector<T>& ys = centres.ys;
    const PointRasterOut<T> out{idx, zbuf, dists};
    const int64_t bin_cost = fine_bin_cost(bins, s.N * s.H * s.W, s.K, kPixelTestCost, kSlotCost);
    parallel_for_dynamic(bins.num_bins(), bin_cost, num_threads, [&](int64_t b) {
      const int64_t n = b / bins.per_image();
      const PixelBox bin = bins.box(b, s.H, s.W);
      const int64_t bw = bin.x1 - bin.x0 + 1;
      thread_local std::vector<int64_t> hits;  // hits so far of each pixel of the bin
      hits.assign(bw * (bin.y1 - bin.y0 + 1), 0);
      auto top_k = [&](int64_t x, int64_t y) {
        return out.row((n * s.H + y) * s.W + x, s.K, hits[(y - bin.y0) * bw + x - bin.x0]);
      };
      for (int64_t j = bins.first[b]; j < bins.first[b + 1]; ++j) {
        const PointRecord<T>& rec = bins.elems[j];
        const PixelBox box = rec.box();
        for (int64_t y = std::max(bin.y0, box.y0); y <= std::min(bin.y1, box.y1); ++y) {
          for (int64_t x = std::max(bin.x0, box.x0); x <= std::min(bin.x1, box.x1); ++x) {
            T dist2;
            if (!point_hit(rec.v, rec.radius, xs[x], ys[y], &dist2)) continue;
            PointTopK<T> top = top_k(x, y);
            top.push(rec.index, rec.v[2], dist2);
            hits[(y - bin.y0) * bw + x - bin.x0] = top.count;
          }
        }
      }
      for (int64_t y = bin.y0; y <= bin.y1; ++y)
        for (int64_t x = bin.x0; x <= bin.x1; ++x) top_k(x, y).pad();
    });
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory binning the points of rasterize_points");
  }
  return Status::ok();
}

template <typename T>
Status rasterize_points_backward_cpu(const T* points, const int64_t* idx, const T* grad_zbuf,
                                     const T* grad_dists, PointRasterSettings s,
                                     int64_t num_points, T* grad_points, int num_threads) {
  const int64_t num_pixels = s.N * s.H * s.W;
  const auto body = [&](T* acc) {
    return RasterizePointsBackwardPixel<T>{points, idx, grad_zbuf, grad_dists, s, acc};
  };
  if (!parallel_accumulate(num_pixels, kSlotBackwardCost * s.K, 3 * num_points, grad_points,
                           num_threads, body))
    return Status::error("out of memory in the backward of rasterize_points");
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                    \
  template Status rasterize_points_forward_cpu<T>(const T*, const T*, const int64_t*,         \
                                                  const int64_t*, PointRasterSettings,        \
                                                  int64_t, int64_t*, T*, T*, int);            \
  template Status rasterize_points_backward_cpu<T>(const T*, const int64_t*, const T*,        \
                                                   const T*, PointRasterSettings, int64_t,    \
                                                   T*, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
