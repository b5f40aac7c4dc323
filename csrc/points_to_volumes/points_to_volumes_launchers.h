// Launchers of splatting points into volumes. Shapes and layouts are documented in
// points_to_volumes.h. The forward adds into the volumes it is given (the caller copies the
// initial volumes there; the body's row range is set by the launchers); the backward writes
// every row of its outputs.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "points_to_volumes/points_to_volumes.h"

namespace r3d {

template <typename T>
Status points_to_volumes_forward_cpu(const SplatForward<T>& body, int num_threads);
template <typename T>
Status points_to_volumes_backward_cpu(const SplatBackward<T>& body, int num_threads);
template <typename T>
Status points_to_volumes_forward_cuda(const SplatForward<T>& body, uintptr_t stream);
template <typename T>
Status points_to_volumes_backward_cuda(const SplatBackward<T>& body, uintptr_t stream);

}  // namespace r3d
