// The CUDA launchers of rasterize_points run on the host (common/gpu_emulate.h), for tests on
// machines without a GPU.
#include <new>

#include "common/cpu_loop.h"
#include "common/gpu_emulate.h"
#include "rasterize_points/rasterize_points.h"
#include "rasterize_points/rasterize_points_fine.h"
#include "rasterize_points/rasterize_points_launchers.h"

namespace r3d {

template <typename T>
Status rasterize_points_forward_emulated(const T* points, const T* radius,
                                         const int64_t* cloud_first, const int64_t* cloud_count,
                                         PointRasterSettings s, int64_t bin_size, int64_t* idx,
                                         T* zbuf, T* dists, int num_threads) {
  if (s.N * s.H * s.W == 0) return Status::ok();
  const PointRasterOut<T> out{idx, zbuf, dists};
  const PointBoxOf<T> box_of{points, radius, s};
  try {
    const EmulatedBins bins =
        emulate_gpu_bins(cloud_first, cloud_count, s.N, s.H, s.W, bin_size, box_of);
    if (bins.grid.B == 0) {
      parallel_for(s.N * s.H * s.W, 1, num_threads,
                   RasterizePointsPixelNaive<T>{points, radius, cloud_first, cloud_count, s, out});
      return Status::ok();
    }
    const PointFineOp<T> op{PointElements<T>{cloud_first, bins.offsets.data(), s.N, box_of},
                            bins.view(), s, out};
    emulate_gpu_fine(op, s.N * bins.grid.per_image(), s.K <= kLocalK, num_threads);
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory emulating the CUDA rasterize_points");
  }
  return Status::ok();
}

template <typename T>
Status rasterize_points_backward_emulated(const T* points, const int64_t* idx, const T* grad_zbuf,
                                          const T* grad_dists, PointRasterSettings s,
                                          int64_t /*num_points*/, T* grad_points,
                                          int /*num_threads*/) {
  emulate_warp_summed_backward<3>(
      RasterizePointsBackwardPixel<T>{points, idx, grad_zbuf, grad_dists, s, grad_points},
      s.N * s.H * s.W, s.K, grad_points);
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                     \
  template Status rasterize_points_forward_emulated<T>(const T*, const T*, const int64_t*,     \
                                                       const int64_t*, PointRasterSettings,    \
                                                       int64_t, int64_t*, T*, T*, int);        \
  template Status rasterize_points_backward_emulated<T>(const T*, const int64_t*, const T*,    \
                                                        const T*, PointRasterSettings,         \
                                                        int64_t, T*, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
