// CPU launchers of rasterize_meshes.
//
// Forward in two passes. The coarse pass (common/screen_bins.h) gives each visible face the
// rectangle of pixels its blur-expanded bounding box may reach and files it into every screen bin
// that rectangle touches, so the bins hold every face whatever their number. The fine pass, in
// parallel over bins, runs each face of a bin over the pixels of its rectangle inside the bin,
// keeping each pixel's K nearest hits: edge functions first, the rest of the pair test only for
// pixels that may hit, the edge distances only for pairs that enter the list. The bins
// (mesh_bin_shape: stripes as wide as the image, or squares) follow K, the faces' mean box and
// the threads.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <new>
#include <vector>

#include "common/cpu_loop.h"
#include "common/huge_pages.h"
#include "common/screen_bins.h"
#include "rasterize_meshes/rasterize_meshes.h"
#include "rasterize_meshes/rasterize_meshes_launchers.h"

namespace r3d {

namespace {

// Cost units of a face's pixel box, of the test of a pixel against a face, of one slot of a
// pixel's output and of one slot's backward.
constexpr int64_t kFaceBoxCost = 40;
constexpr int64_t kPixelTestCost = 30;
constexpr int64_t kSlotCost = 2;
constexpr int64_t kSlotBackwardCost = 15;

// The bytes of the output rows of a bin's pixels that should stay in a core's cache while its
// faces are drawn.
constexpr int64_t kBinRowsBytes = int64_t{4} << 20;
// A bin is at least this many times the mean side of a face's pixel box, so that few faces are
// filed into more than one bin: (1 + 1 / kBinPerFaceSide)^2 copies of a face on average.
constexpr int64_t kBinPerFaceSide = 8;
// Bins per thread the fine pass wants to balance its threads' work.
constexpr int64_t kBinsPerThread = 4;

// The mean side, in pixels, of the non-empty pixel boxes (0 when all are empty).
double mean_box_side(const std::vector<PixelBox>& boxes) {
  double sum = 0.0;
  int64_t n = 0;
  for (const PixelBox& b : boxes) {
    if (b.empty()) continue;
    sum += 0.5 * static_cast<double>((b.x1 - b.x0 + 1) + (b.y1 - b.y0 + 1));
    ++n;
  }
  return n == 0 ? 0.0 : sum / static_cast<double>(n);
}

// The square bin side picked for bin_size 0 where stripes do not fit (mesh_bin_shape): the
// image's longer side (one bin) halved until the output rows of a bin (B * B pixels of K slots of
// slot_bytes) fit kBinRowsBytes (K = 50: 32 x 32 pixels of float32), then while the fine pass's
// threads want more bins and the bins stay kBinPerFaceSide mean face boxes wide.
int64_t mesh_bin_side(const RasterSettings& s, double box_side, int64_t slot_bytes,
                      int num_threads) {
  const int64_t side = std::max(s.H, s.W);
  int64_t B = side;
  while (B > 8 && B * B * s.K * slot_bytes > kBinRowsBytes) B = (B + 1) / 2;
  auto num_bins = [&](int64_t b) { return s.N * ((s.H + b - 1) / b) * ((s.W + b - 1) / b); };
  while (num_threads > 1 && B > 8 && num_bins(B) < kBinsPerThread * num_threads &&
         static_cast<double>(B / 2) >= kBinPerFaceSide * box_side)
    B = (B + 1) / 2;
  return B;
}

// The bins picked for bin_size 0: stripes as wide as the image (whose output rows are contiguous
// runs of memory, and which a face crosses at most along y), as high as the image halved until a
// stripe's output rows fit kBinRowsBytes, then while the fine pass's threads want more bins, as
// long as a stripe stays kBinPerFaceSide mean face boxes (and 8 pixels) high (K = 1: one stripe
// per image up to 384 x 384 pixels of float32 on one thread). Where no such stripe fits
// (large K), square bins (mesh_bin_side).
BinShape mesh_bin_shape(const RasterSettings& s, double box_side, int64_t slot_bytes,
                        int num_threads) {
  const int64_t row_bytes = s.W * s.K * slot_bytes;
  const double min_h = std::max(8.0, kBinPerFaceSide * box_side);
  auto halves = [&](int64_t h) { return static_cast<double>((h + 1) / 2) >= min_h; };
  int64_t h = s.H;
  while (h * row_bytes > kBinRowsBytes && halves(h)) h = (h + 1) / 2;
  if (h * row_bytes > kBinRowsBytes) {
    const int64_t B = mesh_bin_side(s, box_side, slot_bytes, num_threads);
    return BinShape(B, B);
  }
  while (num_threads > 1 && s.N * ((s.H + h - 1) / h) < kBinsPerThread * num_threads &&
         halves(h))
    h = (h + 1) / 2;
  return BinShape(s.W, h);
}

}  // namespace

template <typename T>
Status rasterize_meshes_forward_cpu(const T* face_verts, const int64_t* face_first,
                                    const int64_t* face_count, RasterSettings s,
                                    int64_t bin_size, int64_t* pix_to_face, T* zbuf, T* bary,
                                    T* dists, int num_threads) {
  if (s.N * s.H * s.W == 0) return Status::ok();
  if (s.H > INT32_MAX || s.W > INT32_MAX)
    return Status::error("rasterize_meshes: image sides must be below 2^31 pixels");
  try {
    int64_t num_faces = 0;
    for (int64_t n = 0; n < s.N; ++n)
      num_faces = std::max(num_faces, face_first[n] + face_count[n]);
    std::vector<PixelBox> boxes(num_faces);
    parallel_for(num_faces, kFaceBoxCost, num_threads,
                 [&](int64_t f) { boxes[f] = face_pixel_box(face_verts + 9 * f, s); });
    const int64_t slot_bytes = sizeof(int64_t) + 5 * sizeof(T);
    const BinShape shape =
        bin_size > 0 ? BinShape(std::min(bin_size, std::max(s.H, s.W)))
                     : mesh_bin_shape(s, mean_box_side(boxes), slot_bytes, num_threads);
    // the bins hold copies of their faces, which the fine pass then reads in order
    const Bins<StagedFace<T>> bins = bin_boxes<StagedFace<T>>(
        face_first, face_count, s.N, s.H, s.W, shape,
        [&](int64_t f) { return stage_face(face_verts, f, boxes[f]); },
        [](const StagedFace<T>& sf) { return sf.box(); }, num_threads);
    const PixelCentres<T> centres(s.H, s.W);
    const std::vector<T>& xs = centres.xs;
    const std::vector<T>& ys = centres.ys;
    const RasterOut<T> out{pix_to_face, zbuf, bary, dists};
    const size_t slots = static_cast<size_t>(s.N * s.H * s.W * s.K);
    advise_huge_pages(pix_to_face, slots * sizeof(int64_t));
    for (T* row : {zbuf, dists}) advise_huge_pages(row, slots * sizeof(T));
    advise_huge_pages(bary, 3 * slots * sizeof(T));
    const bool hard = !(s.blur_radius > 0.0);  // only pixels inside a face hit it
    const int64_t bin_cost = fine_bin_cost(bins, s.N * s.H * s.W, s.K, kPixelTestCost, kSlotCost);
    parallel_for_dynamic(bins.num_bins(), bin_cost, num_threads, [&](int64_t b) {
      const int64_t n = b / bins.per_image();
      const PixelBox bin = bins.box(b, s.H, s.W);
      const int64_t x0 = bin.x0, x1 = bin.x1, y0 = bin.y0, y1 = bin.y1;
      const int64_t bw = x1 - x0 + 1;
      thread_local std::vector<int64_t> hits;  // hits so far of each pixel of the bin
      hits.assign(bw * (y1 - y0 + 1), 0);
      // every list of the bin empty first, in runs of stores (a row of the bin's pixels each),
      // which the hits then overwrite in cache
      for (int64_t y = y0; y <= y1; ++y) out.clear((n * s.H + y) * s.W + x0, bw, s.K);
      auto top_k = [&](int64_t x, int64_t y) {
        const int64_t q = (n * s.H + y) * s.W + x;
        return out.row(q, s.K, hits[(y - y0) * bw + x - x0]);
      };
      for (int64_t j = bins.first[b]; j < bins.first[b + 1]; ++j) {
        const StagedFace<T>& sf = bins.elems[j];
        const int64_t f = sf.f;
        const PixelBox box = sf.box();
        const T* v = sf.v;
        const T area = face_area2(v);
        for (int64_t y = std::max(y0, box.y0); y <= std::min(y1, box.y1); ++y) {
          for (int64_t x = std::max(x0, box.x0); x <= std::min(x1, box.x1); ++x) {
            // the pair test of pixel_face / is_hit in steps, each skipping what cannot change
            // the list: pixels outside the face without blur, pairs behind the K kept ones
            T e[3];
            pixel_edges(v, xs[x], ys[y], e);
            if (hard && !may_be_inside(e, area)) continue;
            PixelFace<T> r = pixel_face_core(v, area, e, s);
            if (hard && !(r.valid && r.inside && r.z >= T(0))) continue;
            PixelTopK<T> top = top_k(x, y);
            if (!top.takes(r.z, f)) continue;
            pixel_face_distance(v, xs[x], ys[y], &r);
            if (!is_hit(r, s)) continue;
            top.push(r, f);
            hits[(y - y0) * bw + x - x0] = top.count;
          }
        }
      }
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
  const auto body = [&](T* acc) {
    return RasterizeBackwardPixel<T>{face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists,
                                     s, acc};
  };
  if (!parallel_accumulate(num_pixels, kSlotBackwardCost * s.K, 9 * num_faces, grad_face_verts,
                           num_threads, body))
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
