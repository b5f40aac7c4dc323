// CPU launchers of rasterize_meshes.
//
// Forward in two passes. The coarse pass gives each visible face the rectangle of pixels its
// blur-expanded bounding box may reach and files it, in parallel over faces, into every square
// screen bin that rectangle touches: a counting pass, a prefix sum and a fill, so the bins hold
// every face whatever their number. The fine pass, in parallel over bins, runs each face of a bin
// over the pixels of its rectangle inside the bin, keeping each pixel's K nearest hits.
#include <omp.h>

#include <algorithm>
#include <cmath>
#include <new>
#include <vector>

#include "common/cpu_loop.h"
#include "rasterize_meshes/rasterize_meshes.h"
#include "rasterize_meshes/rasterize_meshes_launchers.h"

namespace r3d {

namespace {

// Inclusive pixel rectangle [x0, x1] x [y0, y1]; empty when x0 > x1.
struct PixelBox {
  int64_t x0, x1, y0, y1;
  bool empty() const { return x0 > x1 || y0 > y1; }
};

// The pixels along a side of S whose centres (S - 2 i - 1) / min_side may lie in [lo, hi],
// widened by one pixel against rounding, clipped to the image: sets [*first, *last].
void pixel_range(double lo, double hi, int64_t S, int64_t min_side, int64_t* first,
                 int64_t* last) {
  const double a = std::ceil((S - 1 - hi * min_side) / 2.0) - 1;
  const double b = std::floor((S - 1 - lo * min_side) / 2.0) + 1;
  *first = static_cast<int64_t>(std::min(std::max(a, 0.0), static_cast<double>(S)));
  *last = static_cast<int64_t>(std::min(std::max(b, -1.0), static_cast<double>(S - 1)));
}

// The pixels face v can hit (empty for a face that hits none).
template <typename T>
PixelBox face_pixel_box(const T* v, const RasterSettings& s) {
  PixelBox box{0, -1, 0, -1};
  if (!face_visible(v, s.cull_backfaces)) return box;
  const double r = std::sqrt(s.blur_radius);
  const double xlo = std::min({v[0], v[3], v[6]}) - r, xhi = std::max({v[0], v[3], v[6]}) + r;
  const double ylo = std::min({v[1], v[4], v[7]}) - r, yhi = std::max({v[1], v[4], v[7]}) + r;
  const int64_t min_side = std::min(s.H, s.W);
  pixel_range(xlo, xhi, s.W, min_side, &box.x0, &box.x1);
  pixel_range(ylo, yhi, s.H, min_side, &box.y0, &box.y1);
  return box;
}

// Bin side when the caller leaves it to the launcher: the largest power of two (8 to 64) whose
// output rows (B * B pixels of K slots) fit a core's L2 cache and that still gives every thread
// several bins to take.
int64_t auto_bin_size(const RasterSettings& s, int64_t slot_bytes, int num_threads) {
  int64_t B = 64;
  while (B > 8 && B * B * s.K * slot_bytes > (int64_t{256} << 10)) B /= 2;
  auto num_bins = [&](int64_t b) { return s.N * ((s.H + b - 1) / b) * ((s.W + b - 1) / b); };
  while (B > 8 && num_bins(B) < 8 * num_threads) B /= 2;
  return B;
}

// Screen bins of B x B pixels, mesh by mesh, and the faces filed into each.
struct Bins {
  int64_t B, nx, ny;
  std::vector<int64_t> first;  // (num_bins + 1,): bin b holds faces[first[b] .. first[b + 1])
  std::vector<int64_t> faces;

  int64_t per_mesh() const { return nx * ny; }
};

// Runs fn(bin) for every bin of mesh n that box touches.
template <typename Fn>
void for_each_bin(const Bins& bins, int64_t n, const PixelBox& box, const Fn& fn) {
  for (int64_t by = box.y0 / bins.B; by <= box.y1 / bins.B; ++by)
    for (int64_t bx = box.x0 / bins.B; bx <= box.x1 / bins.B; ++bx)
      fn(n * bins.per_mesh() + by * bins.nx + bx);
}

// The coarse pass (allocates; may throw std::bad_alloc).
Bins bin_faces(const int64_t* face_first, const int64_t* face_count, const RasterSettings& s,
               int64_t B, const std::vector<PixelBox>& boxes, int num_threads) {
  Bins bins{B, (s.W + B - 1) / B, (s.H + B - 1) / B, {}, {}};
  const int64_t num_bins = s.N * bins.per_mesh();
  bins.first.assign(num_bins + 1, 0);
  int64_t* counts = bins.first.data() + 1;
  for (int64_t n = 0; n < s.N; ++n) {
    parallel_for(face_count[n], num_threads, [&](int64_t i) {
      const PixelBox& box = boxes[face_first[n] + i];
      if (box.empty()) return;
      for_each_bin(bins, n, box, [&](int64_t b) {
#pragma omp atomic
        ++counts[b];
      });
    });
  }
  for (int64_t b = 0; b < num_bins; ++b) bins.first[b + 1] += bins.first[b];
  bins.faces.resize(bins.first[num_bins]);
  std::vector<int64_t> cursor(bins.first.begin(), bins.first.end() - 1);
  for (int64_t n = 0; n < s.N; ++n) {
    parallel_for(face_count[n], num_threads, [&](int64_t i) {
      const int64_t f = face_first[n] + i;
      const PixelBox& box = boxes[f];
      if (box.empty()) return;
      for_each_bin(bins, n, box, [&](int64_t b) {
        int64_t pos;
#pragma omp atomic capture
        pos = cursor[b]++;
        bins.faces[pos] = f;
      });
    });
  }
  return bins;
}

}  // namespace

template <typename T>
Status rasterize_meshes_forward_cpu(const T* face_verts, const int64_t* face_first,
                                    const int64_t* face_count, RasterSettings s,
                                    int64_t bin_size, int64_t* pix_to_face, T* zbuf, T* bary,
                                    T* dists, int num_threads) {
  if (s.N * s.H * s.W == 0) return Status::ok();
  try {
    int64_t num_faces = 0;
    for (int64_t n = 0; n < s.N; ++n)
      num_faces = std::max(num_faces, face_first[n] + face_count[n]);
    std::vector<PixelBox> boxes(num_faces);
    parallel_for(num_faces, num_threads,
                 [&](int64_t f) { boxes[f] = face_pixel_box(face_verts + 9 * f, s); });
    const int64_t slot_bytes = sizeof(int64_t) + 5 * sizeof(T);
    const int64_t B = bin_size > 0 ? bin_size : auto_bin_size(s, slot_bytes, num_threads);
    const Bins bins = bin_faces(face_first, face_count, s, B, boxes, num_threads);
    const int64_t min_side = std::min(s.H, s.W);
    std::vector<T> xs(s.W), ys(s.H);
    for (int64_t x = 0; x < s.W; ++x) xs[x] = pixel_centre<T>(x, s.W, min_side);
    for (int64_t y = 0; y < s.H; ++y) ys[y] = pixel_centre<T>(y, s.H, min_side);
    parallel_for_dynamic(s.N * bins.per_mesh(), num_threads, [&](int64_t b) {
      const int64_t n = b / bins.per_mesh();
      const int64_t y0 = (b % bins.per_mesh()) / bins.nx * B, x0 = b % bins.nx * B;
      const int64_t y1 = std::min(s.H, y0 + B) - 1, x1 = std::min(s.W, x0 + B) - 1;
      thread_local std::vector<int64_t> hits;  // hits so far of each pixel of the bin
      hits.assign(B * B, 0);
      auto top_k = [&](int64_t x, int64_t y) {
        const int64_t q = (n * s.H + y) * s.W + x;
        return PixelTopK<T>(pix_to_face + q * s.K, zbuf + q * s.K, bary + 3 * q * s.K,
                            dists + q * s.K, s.K, hits[(y - y0) * B + x - x0]);
      };
      for (int64_t j = bins.first[b]; j < bins.first[b + 1]; ++j) {
        const int64_t f = bins.faces[j];
        const PixelBox& box = boxes[f];
        const T* v = face_verts + 9 * f;
        for (int64_t y = std::max(y0, box.y0); y <= std::min(y1, box.y1); ++y) {
          for (int64_t x = std::max(x0, box.x0); x <= std::min(x1, box.x1); ++x) {
            const PixelFace<T> r = pixel_face(v, xs[x], ys[y], s);
            if (!is_hit(r, s)) continue;
            PixelTopK<T> top = top_k(x, y);
            top.push(r, f);
            hits[(y - y0) * B + x - x0] = top.count;
          }
        }
      }
      for (int64_t y = y0; y <= y1; ++y)
        for (int64_t x = x0; x <= x1; ++x) top_k(x, y).pad();
    });
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory binning the faces of rasterize_meshes");
  }
  return Status::ok();
}

template <typename T>
Status rasterize_meshes_backward_cpu(const T* face_verts, const int64_t* pix_to_face,
                                     const T* grad_zbuf, const T* grad_bary, const T* grad_dists,
                                     RasterSettings s, int64_t num_faces, T* grad_face_verts,
                                     int num_threads) {
  const int64_t num_pixels = s.N * s.H * s.W;
  if (num_threads < 1 || num_pixels * s.K < (int64_t{1} << 14)) num_threads = 1;
  const auto body = [&](T* acc) {
    return RasterizeBackwardPixel<T>{face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists,
                                     s, acc};
  };
  if (!parallel_accumulate(num_pixels, 9 * num_faces, grad_face_verts, num_threads, body))
    return Status::error("out of memory in the backward of rasterize_meshes");
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                    \
  template Status rasterize_meshes_forward_cpu<T>(const T*, const int64_t*, const int64_t*,   \
                                                  RasterSettings, int64_t, int64_t*, T*, T*,  \
                                                  T*, int);                                   \
  template Status rasterize_meshes_backward_cpu<T>(const T*, const int64_t*, const T*,        \
                                                   const T*, const T*, RasterSettings,        \
                                                   int64_t, T*, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
