// CUDA launchers of rasterize_points: the naive per-pixel body and the per-pixel backward of
// rasterize_points.h, one thread per pixel.
#include "common/cuda_loop.cuh"
#include "rasterize_points/rasterize_points.h"
#include "rasterize_points/rasterize_points_launchers.h"

namespace r3d {

template <typename T>
Status rasterize_points_forward_cuda(const T* points, const T* radius, const int64_t* cloud_first,
                                     const int64_t* cloud_count, PointRasterSettings s,
                                     int64_t* idx, T* zbuf, T* dists, uintptr_t stream) {
  return cuda_parallel_for(
      s.N * s.H * s.W, stream,
      RasterizePointsPixelNaive<T>{points, radius, cloud_first, cloud_count, s, idx, zbuf, dists});
}

template <typename T>
Status rasterize_points_backward_cuda(const T* points, const int64_t* idx, const T* grad_zbuf,
                                      const T* grad_dists, PointRasterSettings s,
                                      int64_t /*num_points*/, T* grad_points, uintptr_t stream) {
  return cuda_parallel_for(
      s.N * s.H * s.W, stream,
      RasterizePointsBackwardPixel<T>{points, idx, grad_zbuf, grad_dists, s, grad_points});
}

#define R3D_INSTANTIATE(T)                                                                     \
  template Status rasterize_points_forward_cuda<T>(const T*, const T*, const int64_t*,         \
                                                   const int64_t*, PointRasterSettings,        \
                                                   int64_t*, T*, T*, uintptr_t);               \
  template Status rasterize_points_backward_cuda<T>(const T*, const int64_t*, const T*,        \
                                                    const T*, PointRasterSettings, int64_t, T*, \
                                                    uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
