// CUDA launchers of rasterize_points.
//
// Forward in two passes: the coarse pass of common/gpu_bins.cuh files every point in front of
// the camera into every bin its disc's box touches (nothing dropped), then the fine kernel of
// common/gpu_fine.cuh runs one block per bin, one thread per pixel (rasterize_points_fine.h).
// A bin_size covering the image asks for the naive path: one thread per pixel over its cloud's
// points. Backward: one thread per pixel and slot; the lanes of a warp that hold the same point
// add their gradients (common/warp_sums.h) before one atomic add per point and warp.
#include <cuda_runtime.h>

#include "common/cuda_loop.cuh"
#include "common/gpu_bins.cuh"
#include "common/gpu_fine.cuh"
#include "rasterize_points/rasterize_points.h"
#include "rasterize_points/rasterize_points_fine.h"
#include "rasterize_points/rasterize_points_launchers.h"

namespace r3d {

template <typename T>
Status rasterize_points_forward_cuda(const T* points, const T* radius, const int64_t* cloud_first,
                                     const int64_t* cloud_count, PointRasterSettings s,
                                     int64_t bin_size, int64_t* idx, T* zbuf, T* dists,
                                     uintptr_t stream) {
  if (s.N * s.H * s.W == 0) return Status::ok();
  const cudaStream_t st = reinterpret_cast<cudaStream_t>(stream);
  const PointRasterOut<T> out{idx, zbuf, dists};
  GpuBins bins;
  const PointBoxOf<T> box_of{points, radius, s};
  R3D_TRY(gpu_bin_elements(cloud_first, cloud_count, s.N, s.H, s.W, bin_size, box_of, st, &bins));
  if (bins.grid.B == 0)
    return cuda_parallel_for(
        s.N * s.H * s.W, stream,
        RasterizePointsPixelNaive<T>{points, radius, cloud_first, cloud_count, s, out});
  const PointFineOp<T> op{PointElements<T>{cloud_first, bins.offsets.get(), s.N, box_of},
                          GpuBinsView{bins.grid, bins.first.get(), bins.elems.get()}, s, out};
  return launch_gpu_fine(op, s.N * bins.grid.per_image(), s.K <= kLocalK, st);
}

template <typename T>
Status rasterize_points_backward_cuda(const T* points, const int64_t* idx, const T* grad_zbuf,
                                      const T* grad_dists, PointRasterSettings s,
                                      int64_t /*num_points*/, T* grad_points, uintptr_t stream) {
  return launch_warp_summed_backward<3>(
      RasterizePointsBackwardPixel<T>{points, idx, grad_zbuf, grad_dists, s, grad_points},
      s.N * s.H * s.W, s.K, grad_points, reinterpret_cast<cudaStream_t>(stream));
}

#define R3D_INSTANTIATE(T)                                                                     \
  template Status rasterize_points_forward_cuda<T>(const T*, const T*, const int64_t*,         \
                                                   const int64_t*, PointRasterSettings,        \
                                                   int64_t, int64_t*, T*, T*, uintptr_t);      \
  template Status rasterize_points_backward_cuda<T>(const T*, const int64_t*, const T*,        \
                                                    const T*, PointRasterSettings, int64_t, T*, \
                                                    uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
