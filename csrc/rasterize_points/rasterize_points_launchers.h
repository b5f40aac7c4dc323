// Launchers of rasterize_points. Shapes are documented in rasterize_points.h.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "rasterize_points/rasterize_points.h"

namespace r3d {

// bin_size: side of the square screen bins in pixels; 0 picks it (CPU: from the image size and
// K; CUDA: from the image size and the points' screen size). CPU: any side up to the image's.
// CUDA (common/gpu_bins.h, gpu_bin_side): 8, 16 or 32 (bin_size rounded down to one of them), or
// the naive path (a thread per pixel over its cloud's points) for a bin_size covering the image.
template <typename T>
Status rasterize_points_forward_cpu(const T* points, const T* radius, const int64_t* cloud_first,
                                    const int64_t* cloud_count, PointRasterSettings s,
                                    int64_t bin_size, int64_t* idx, T* zbuf, T* dists,
                                    int num_threads);
template <typename T>
Status rasterize_points_forward_cuda(const T* points, const T* radius, const int64_t* cloud_first,
                                     const int64_t* cloud_count, PointRasterSettings s,
                                     int64_t bin_size, int64_t* idx, T* zbuf, T* dists,
                                     uintptr_t stream);
// The CUDA launcher's schedule run on the host, for tests on machines without a GPU
// (rasterize_points_emulate_cpu.cpp). Same arguments as the CPU launcher.
template <typename T>
Status rasterize_points_forward_emulated(const T* points, const T* radius,
                                         const int64_t* cloud_first, const int64_t* cloud_count,
                                         PointRasterSettings s, int64_t bin_size, int64_t* idx,
                                         T* zbuf, T* dists, int num_threads);

// grad_points (P, 3), zeroed by the caller: the gradient w.r.t. the point positions.
template <typename T>
Status rasterize_points_backward_cpu(const T* points, const int64_t* idx, const T* grad_zbuf,
                                     const T* grad_dists, PointRasterSettings s,
                                     int64_t num_points, T* grad_points, int num_threads);
template <typename T>
Status rasterize_points_backward_cuda(const T* points, const int64_t* idx, const T* grad_zbuf,
                                      const T* grad_dists, PointRasterSettings s,
                                      int64_t num_points, T* grad_points, uintptr_t stream);
template <typename T>
Status rasterize_points_backward_emulated(const T* points, const int64_t* idx, const T* grad_zbuf,
                                          const T* grad_dists, PointRasterSettings s,
                                          int64_t num_points, T* grad_points, int num_threads);

}  // namespace r3d
