// Launchers of voxelize_meshes' two passes. Shapes are documented in voxelize.h.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "voxelize/voxelize.h"

namespace r3d {

template <typename T>
Status voxelize_crossings_cpu(const VoxelizeCrossings<T>& body, int num_threads);
template <typename T>
Status voxelize_fill_cpu(const VoxelizeFill<T>& body, int num_threads);
template <typename T>
Status voxelize_crossings_cuda(const VoxelizeCrossings<T>& body, uintptr_t stream);
template <typename T>
Status voxelize_fill_cuda(const VoxelizeFill<T>& body, uintptr_t stream);

}  // namespace r3d
