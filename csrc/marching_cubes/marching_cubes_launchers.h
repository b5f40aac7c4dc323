// Launchers of marching_cubes' two passes. Shapes are documented in marching_cubes.h.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "marching_cubes/marching_cubes.h"

namespace r3d {

template <typename T>
Status marching_cubes_count_cpu(const MarchingCubesCount<T>& body, int num_threads);
template <typename T>
Status marching_cubes_emit_cpu(const MarchingCubesEmit<T>& body, int num_threads);
template <typename T>
Status marching_cubes_count_cuda(const MarchingCubesCount<T>& body, uintptr_t stream);
template <typename T>
Status marching_cubes_emit_cuda(const MarchingCubesEmit<T>& body, uintptr_t stream);

}  // namespace r3d
