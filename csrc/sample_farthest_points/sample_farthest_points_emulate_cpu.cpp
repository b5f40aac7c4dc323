// The CUDA launcher of sample_farthest_points run on the host, for tests on machines without a
// GPU: each cloud's block thread by thread (the strided shares of fps_scan), the warps' shuffle
// trees lane by lane, then the tree over the warps' candidates, as sample_farthest_points_cuda.cu
// runs them. Clouds in parallel (blocks are independent).
#include "common/cpu_loop.h"
#include "sample_farthest_points/sample_farthest_points.h"
#include "sample_farthest_points/sample_farthest_points_launchers.h"

namespace r3d {

namespace {

constexpr int kWarp = 32;

// The shuffle-down tree of warp_best on 32 lanes' candidates: after it, lanes[0] is the best.
// Each round reads every lane before any is written, as a shuffle does.
template <typename T>
void emulate_warp_best(FpsBest<T>* lanes) {
  FpsBest<T> before[kWarp];
  for (int offset = kWarp / 2; offset > 0; offset /= 2) {
    for (int l = 0; l < kWarp; ++l) before[l] = lanes[l];
    for (int l = 0; l < kWarp; ++l)
      lanes[l] = fps_better(before[l], before[l + offset < kWarp ? l + offset : l]);
  }
}

// The block of cloud n of fps_kernel.
template <typename T>
void emulate_block(const FpsArgs<T>& a, int64_t n) {
  const FpsShape& s = a.s;
  const int threads = fps_block_threads(s.P), warps = threads / kWarp;
  const int64_t length = a.lengths[n], count = fps_count(a.lengths, a.k, n);
  const T* cloud = a.points + n * s.P * s.D;
  int64_t* row = a.idx + n * s.max_k;
  T* dist = a.closest + n * s.P;
  for (int t = 0; t < threads; ++t) fps_pad(row, count, s.max_k, t, threads);
  if (count > 0) row[0] = a.start[n];
  FpsBest<T> lanes[kWarp * kWarp], warps_best[kWarp];  // threads <= 1024
  int64_t current = a.start[n];
  for (int64_t i = 1; i < count; ++i) {
    const T* at = cloud + current * s.D;
    for (int t = 0; t < threads; ++t)
      lanes[t] = fps_scan<0>(cloud, s.D, at, dist, t, length, threads, i == 1);
    for (int w = 0; w < warps; ++w) {
      emulate_warp_best(&lanes[w * kWarp]);
      warps_best[w] = lanes[w * kWarp];
    }
    for (int w = warps; w < kWarp; ++w) warps_best[w] = fps_none<T>();
    emulate_warp_best(warps_best);
    current = warps_best[0].index;
    row[i] = current;
  }
}

}  // namespace

template <typename T>
Status sample_farthest_points_emulated(const FpsArgs<T>& a, int num_threads) {
  const FpsShape& s = a.s;
  parallel_for_dynamic(s.N, work_of(s.max_k, s.P * (2 * s.D + 4)), num_threads,
                       [&](int64_t n) { emulate_block(a, n); });
  return Status::ok();
}

template Status sample_farthest_points_emulated<float>(const FpsArgs<float>&, int);
template Status sample_farthest_points_emulated<double>(const FpsArgs<double>&, int);

}  // namespace r3d
