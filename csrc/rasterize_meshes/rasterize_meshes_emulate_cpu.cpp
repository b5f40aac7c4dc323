// The CUDA launchers' schedules of rasterize_meshes run on the host, for tests on machines
// without a GPU: the same coarse pass (common/gpu_bins.h, bin side chosen by gpu_bin_side), the
// same fine-pass bodies (rasterize_meshes_fine.h) run block by block, one thread after another,
// the same naive path, and the backward's warp sums (common/warp_sums.h) lane by lane. Only the
// order of the faces within a bin differs from a GPU run (there it comes from atomics); here each
// bin's faces are shuffled so that the tests see an arbitrary order too.
#include <algorithm>
#include <new>
#include <numeric>
#include <random>
#include <vector>

#include "common/cpu_loop.h"
#include "common/gpu_bins.h"
#include "common/warp_sums.h"
#include "rasterize_meshes/rasterize_meshes.h"
#include "rasterize_meshes/rasterize_meshes_fine.h"
#include "rasterize_meshes/rasterize_meshes_launchers.h"

namespace r3d {

namespace {

constexpr int kWarp = 32;

// The block of bin b of the fine kernel: its threads' pixels, the staged chunks in turn.
template <typename T, bool Local>
void run_fine_block(const FineInputs<T>& in, int64_t b, const RasterSettings& s,
                    const RasterOut<T>& out) {
  std::vector<FinePixel<T, Local>> pixels;
  const int64_t threads = in.grid.B * in.grid.B;
  pixels.reserve(threads);
  for (int64_t t = 0; t < threads; ++t) pixels.emplace_back(in.grid, b, t, s);
  std::vector<StagedFace<T>> staged(kStageChunk);
  const int64_t begin = in.bin_first[b], end = in.bin_first[b + 1];
  for (int64_t c = begin; c < end; c += kStageChunk) {
    const int64_t m = std::min<int64_t>(end - c, kStageChunk);
    for (int64_t i = 0; i < m; ++i) staged[i] = stage_face(in.elements, in.elems[c + i]);
    for (FinePixel<T, Local>& pixel : pixels)
      if (pixel.active)
        for (int64_t i = 0; i < m; ++i) pixel.test(staged[i], s, out);
  }
  for (FinePixel<T, Local>& pixel : pixels)
    if (pixel.active) pixel.write(s, out);
}

}  // namespace

template <typename T>
Status rasterize_meshes_forward_emulated(const T* face_verts, const int64_t* face_first,
                                         const int64_t* face_count, RasterSettings s,
                                         int64_t bin_size, int64_t* pix_to_face, T* zbuf,
                                         T* bary, T* dists, int num_threads) {
  if (s.N * s.H * s.W == 0) return Status::ok();
  const RasterOut<T> out{pix_to_face, zbuf, bary, dists};
  const FaceBoxOf<T> box_of{face_verts, s};
  const RasterizePixelNaive<T> naive{face_verts, face_first, face_count, s, out};
  try {
    std::vector<int64_t> offsets(s.N + 1);
    element_offsets(face_count, s.N, offsets.data());
    const FaceElements<T> elements{face_first, offsets.data(), s.N, box_of};
    const int64_t E = offsets[s.N];
    int64_t B = 0;
    if (bin_size < std::max(s.H, s.W)) {
      int64_t touched[kNumGpuBinSides] = {};
      for (int64_t e = 0; e < E; ++e) elements.count_touched(e, touched);
      B = gpu_bin_side(bin_size, s.N, s.H, s.W, touched);
    }
    if (B == 0) {
      parallel_for(s.N * s.H * s.W, 1, num_threads, naive);
      return Status::ok();
    }
    const BinGrid grid = BinGrid::make(B, s.H, s.W);
    const int64_t num_bins = s.N * grid.per_image();
    std::vector<int64_t> first(num_bins + 1, 0);
    for (int64_t e = 0; e < E; ++e) elements.count_bins(e, grid, first.data());
    std::exclusive_scan(first.begin(), first.end(), first.begin(), int64_t{0});
    std::vector<int64_t> cursor(first.begin(), first.end() - 1);
    std::vector<int32_t> elems(first[num_bins]);
    for (int64_t e = 0; e < E; ++e) elements.fill_bins(e, grid, cursor.data(), elems.data());
    std::mt19937 shuffle(12345);
    for (int64_t b = 0; b < num_bins; ++b)
      std::shuffle(elems.begin() + first[b], elems.begin() + first[b + 1], shuffle);
    const FineInputs<T> in{elements, grid, first.data(), elems.data()};
    parallel_for_dynamic(num_bins, B * B * 50, num_threads, [&](int64_t b) {
      if (s.K <= kLocalK) run_fine_block<T, true>(in, b, s, out);
      else run_fine_block<T, false>(in, b, s, out);
    });
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory emulating the CUDA rasterize_meshes");
  }
  return Status::ok();
}

template <typename T>
Status rasterize_meshes_backward_emulated(const T* face_verts, const int64_t* pix_to_face,
                                          const T* grad_zbuf, const T* grad_bary,
                                          const T* grad_dists, RasterSettings s,
                                          int64_t /*num_faces*/, T* grad_face_verts,
                                          int /*num_threads*/) {
  const RasterizeBackwardPixel<T> body{face_verts, pix_to_face, grad_zbuf, grad_bary,
                                       grad_dists, s, grad_face_verts};
  const int64_t num_pixels = s.N * s.H * s.W;
  int64_t face[kWarp];
  uint32_t peers[kWarp];
  int rank[kWarp], size[kWarp];
  T g[kWarp][9], before[kWarp][9];
  for (int64_t base = 0; base < num_pixels; base += kWarp) {
    for (int64_t k = 0; k < s.K; ++k) {
      for (int lane = 0; lane < kWarp; ++lane) {
        std::fill(g[lane], g[lane] + 9, T(0));
        face[lane] = base + lane < num_pixels ? body.slot_gradient(base + lane, k, g[lane]) : -1;
      }
      int largest = 0;
      for (int lane = 0; lane < kWarp; ++lane) {
        peers[lane] = 0;
        for (int other = 0; other < kWarp; ++other)
          if (face[other] == face[lane]) peers[lane] |= uint32_t{1} << other;
        rank[lane] = peer_rank(peers[lane], lane);
        size[lane] = popcount32(peers[lane]);
        largest = std::max(largest, size[lane]);
      }
      for (int step = 1; step < largest; step *= 2) {
        std::copy(&g[0][0], &g[0][0] + kWarp * 9, &before[0][0]);  // a shuffle reads them all
        for (int lane = 0; lane < kWarp; ++lane) {
          const int src = peer_source(peers[lane], rank[lane], step);
          if (src >= 0)
            for (int i = 0; i < 9; ++i) g[lane][i] += before[src][i];
        }
      }
      for (int lane = 0; lane < kWarp; ++lane)
        if (rank[lane] == 0 && face[lane] >= 0)
          for (int i = 0; i < 9; ++i) grad_face_verts[9 * face[lane] + i] += g[lane][i];
    }
  }
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                    \
  template Status rasterize_meshes_forward_emulated<T>(const T*, const int64_t*,             \
                                                       const int64_t*, RasterSettings,        \
                                                       int64_t, int64_t*, T*, T*, T*, int);  \
  template Status rasterize_meshes_backward_emulated<T>(const T*, const int64_t*, const T*,  \
                                                        const T*, const T*, RasterSettings,   \
                                                        int64_t, T*, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
