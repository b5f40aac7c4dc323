// Launchers of interpolate_face_attributes. Shapes are documented in interp_face_attrs.h; each
// launcher stores the largest InterpCode met in *code (a device int zeroed by the caller on CUDA).
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "interp_face_attrs/interp_face_attrs.h"

namespace r3d {

template <typename T>
Status interp_face_attrs_forward_cpu(const InterpFaceAttrsForward<T>& body, int32_t* code,
                                     int num_threads);
template <typename T>
Status interp_face_attrs_backward_cpu(const InterpFaceAttrsBackward<T>& body, int32_t* code,
                                      int num_threads);
template <typename T>
Status interp_face_attrs_forward_cuda(const InterpFaceAttrsForward<T>& body, int32_t* code,
                                      uintptr_t stream);
template <typename T>
Status interp_face_attrs_backward_cuda(const InterpFaceAttrsBackward<T>& body, int32_t* code,
                                       uintptr_t stream);

}  // namespace r3d
