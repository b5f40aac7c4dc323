// Launchers of emission-absorption rendering of voxel grids. Shapes and formulas are documented
// in volume_rendering.h. The backward adds into grad_grid, which the caller zeroes; on CUDA it
// takes a scratch of N * R * 3 * P values (body.scratch), on the CPU none (body.scratch null).
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "volume_rendering/volume_rendering.h"

namespace r3d {

template <typename T>
Status ea_grid_forward_cpu(const EaGridForward<T>& body, int num_threads);
template <typename T>
Status ea_grid_backward_cpu(const EaGridBackward<T>& body, int num_threads);
template <typename T>
Status ea_grid_forward_cuda(const EaGridForward<T>& body, uintptr_t stream);
template <typename T>
Status ea_grid_backward_cuda(const EaGridBackward<T>& body, uintptr_t stream);

}  // namespace r3d
