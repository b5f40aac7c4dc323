// Host emulation of the GPU rasterisers' schedules, for tests on machines without a GPU: the
// coarse pass (common/gpu_bins.h, side chosen by gpu_bin_side), the fine pass
// (common/gpu_fine.h) block by block, one thread after another, and the backward's warp sums
// (common/warp_sums.h) lane by lane, all with the bodies the CUDA kernels run. Only the order of
// the elements within a bin differs from a GPU run (there it comes from atomics): here each
// bin's elements are shuffled, so that the tests see an arbitrary order too.
#pragma once

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <random>
#include <vector>

#include "common/cpu_loop.h"
#include "common/gpu_bins.h"
#include "common/gpu_fine.h"
#include "common/warp_sums.h"

namespace r3d {

// The coarse pass's arrays on the host; grid.B == 0: the naive path.
struct EmulatedBins {
  BinGrid grid{0, 0, 0};
  std::vector<int64_t> offsets, first;
  std::vector<int32_t> elems;

  GpuBinsView view() const { return GpuBinsView{grid, first.data(), elems.data()}; }
};

// The coarse pass of gpu_bin_elements (common/gpu_bins.cuh) for the same arguments. Allocates;
// may throw std::bad_alloc.
template <typename BoxOf>
EmulatedBins emulate_gpu_bins(const int64_t* first, const int64_t* count, int64_t N, int64_t H,
                              int64_t W, int64_t bin_size, const BoxOf& box_of) {
  EmulatedBins bins;
  bins.offsets.resize(N + 1);
  element_offsets(count, N, bins.offsets.data());
  if (bin_size >= std::max(H, W)) return bins;
  const BinElements<BoxOf> elements{first, bins.offsets.data(), N, box_of};
  const int64_t E = bins.offsets[N];
  int64_t touched[kNumGpuBinSides] = {};
  for (int64_t e = 0; e < E; ++e) elements.count_touched(e, touched);
  bins.grid = BinGrid::make(gpu_bin_side(bin_size, N, H, W, touched), H, W);
  if (bins.grid.B == 0) return bins;
  const int64_t num_bins = N * bins.grid.per_image();
  bins.first.assign(num_bins + 1, 0);
  for (int64_t e = 0; e < E; ++e) elements.count_bins(e, bins.grid, bins.first.data());
  std::exclusive_scan(bins.first.begin(), bins.first.end(), bins.first.begin(), int64_t{0});
  std::vector<int64_t> cursor(bins.first.begin(), bins.first.end() - 1);
  bins.elems.resize(bins.first[num_bins]);
  for (int64_t e = 0; e < E; ++e)
    elements.fill_bins(e, bins.grid, cursor.data(), bins.elems.data());
  std::mt19937 shuffle(12345);
  for (int64_t b = 0; b < num_bins; ++b)
    std::shuffle(bins.elems.begin() + bins.first[b], bins.elems.begin() + bins.first[b + 1],
                 shuffle);
  return bins;
}

// The block of bin b of gpu_fine_kernel: its threads' pixels, the staged chunks in turn.
template <typename Op, bool Local>
void emulate_fine_block(const Op& op, int64_t b) {
  using Pixel = typename Op::template Pixel<Local>;
  const int64_t threads = op.bins.grid.B * op.bins.grid.B;
  std::vector<Pixel> pixels;
  pixels.reserve(threads);
  for (int64_t t = 0; t < threads; ++t) pixels.emplace_back(op, b, t);
  std::vector<typename Op::Staged> staged(kStageChunk);
  const int64_t begin = op.bins.first[b], end = op.bins.first[b + 1];
  for (int64_t c = begin; c < end; c += kStageChunk) {
    const int64_t m = std::min<int64_t>(end - c, kStageChunk);
    for (int64_t i = 0; i < m; ++i) staged[i] = op.stage(op.bins.elems[c + i]);
    for (Pixel& pixel : pixels)
      if (pixel.active)
        for (int64_t i = 0; i < m; ++i) pixel.test(staged[i], op);
  }
  for (Pixel& pixel : pixels)
    if (pixel.active) pixel.write(op);
}

// launch_gpu_fine on the host (bins in parallel: they write disjoint pixels).
template <typename Op>
void emulate_gpu_fine(const Op& op, int64_t num_bins, bool local, int num_threads) {
  const int64_t cost = 50 * op.bins.grid.B * op.bins.grid.B;
  parallel_for_dynamic(num_bins, cost, num_threads, [&](int64_t b) {
    if (local) emulate_fine_block<Op, true>(op, b);
    else emulate_fine_block<Op, false>(op, b);
  });
}

// warp_summed_backward_kernel on the host: warps of 32 consecutive pixels, slot by slot, the
// lanes sharing a key summed by the shuffle tree of common/warp_sums.h before one add each.
template <int V, typename T, typename Slot>
void emulate_warp_summed_backward(const Slot& slot, int64_t num_pixels, int64_t K, T* dest) {
  constexpr int kWarp = 32;
  int64_t key[kWarp];
  uint32_t peers[kWarp];
  int rank[kWarp];
  T vals[kWarp][V], before[kWarp][V];
  for (int64_t base = 0; base < num_pixels; base += kWarp) {
    for (int64_t k = 0; k < K; ++k) {
      for (int lane = 0; lane < kWarp; ++lane) {
        std::fill(vals[lane], vals[lane] + V, T(0));
        key[lane] = base + lane < num_pixels ? slot.slot_gradient(base + lane, k, vals[lane]) : -1;
      }
      int largest = 0;
      for (int lane = 0; lane < kWarp; ++lane) {
        peers[lane] = 0;
        for (int other = 0; other < kWarp; ++other)
          if (key[other] == key[lane]) peers[lane] |= uint32_t{1} << other;
        rank[lane] = peer_rank(peers[lane], lane);
        largest = std::max(largest, popcount32(peers[lane]));
      }
      for (int step = 1; step < largest; step *= 2) {
        std::copy(&vals[0][0], &vals[0][0] + kWarp * V, &before[0][0]);  // a shuffle reads all
        for (int lane = 0; lane < kWarp; ++lane) {
          const int src = peer_source(peers[lane], rank[lane], step);
          if (src >= 0)
            for (int i = 0; i < V; ++i) vals[lane][i] += before[src][i];
        }
      }
      for (int lane = 0; lane < kWarp; ++lane)
        if (rank[lane] == 0 && key[lane] >= 0)
          for (int i = 0; i < V; ++i) dest[V * key[lane] + i] += vals[lane][i];
    }
  }
}

}  // namespace r3d
