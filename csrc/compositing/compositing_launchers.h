// Launchers of point compositing. Shapes and layouts are documented in compositing.h. The
// forward stores the largest CompositeCode met in *code (a device int zeroed by the caller on
// CUDA); the backward adds into grad_features, which the caller zeroes.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "compositing/compositing.h"

namespace r3d {

template <typename T>
Status composite_forward_cpu(const CompositeForward<T>& body, int32_t* code, int num_threads);
template <typename T>
Status composite_backward_cpu(const CompositeBackward<T>& body, int num_threads);
template <typename T>
Status composite_forward_cuda(const CompositeForward<T>& body, int32_t* code, uintptr_t stream);
template <typename T>
Status composite_backward_cuda(const CompositeBackward<T>& body, uintptr_t stream);

}  // namespace r3d
