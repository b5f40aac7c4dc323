// Launchers of rasterize_points. Shapes are documented in rasterize_points.h.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "rasterize_points/rasterize_points.h"

namespace r3d {

// bin_size: side of the CPU launcher's square screen bins in pixels; 0 picks it from the image
// size and K. The CUDA launcher is naive (one thread per pixel over its cloud's points) and
// takes no bin size.
template <typename T>
Status rasterize_points_forward_cpu(const T* points, const T* radius, const int64_t* cloud_first,
                                    const int64_t* cloud_count, PointRasterSettings s,
                                    int64_t bin_size, int64_t* idx, T* zbuf, T* dists,
                                    int num_threads);
template <typename T>
Status rasterize_points_forward_cuda(const T* points, const T* radius, const int64_t* cloud_first,
                                     const int64_t* cloud_count, PointRasterSettings s,
                                     int64_t* idx, T* zbuf, T* dists, uintptr_t stream);

// grad_points (P, 3), zeroed by the caller: the gradient w.r.t. the point positions.
template <typename T>
Status rasterize_points_backward_cpu(const T* points, const int64_t* idx, const T* grad_zbuf,
                                     const T* grad_dists, PointRasterSettings s,
                                     int64_t num_points, T* grad_points, int num_threads);
template <typename T>
Status rasterize_points_backward_cuda(const T* points, const int64_t* idx, const T* grad_zbuf,
                                      const T* grad_dists, PointRasterSettings s,
                                      int64_t num_points, T* grad_points, uintptr_t stream);

}  // namespace r3d
