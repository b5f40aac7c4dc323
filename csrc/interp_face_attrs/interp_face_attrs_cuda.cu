#include "common/cuda_loop.cuh"
#include "interp_face_attrs/interp_face_attrs.h"
#include "interp_face_attrs/interp_face_attrs_launchers.h"

namespace r3d {

template <typename T>
Status interp_face_attrs_forward_cuda(const InterpFaceAttrsForward<T>& body, int32_t* code,
                                      uintptr_t stream) {
  return cuda_parallel_for_max(body.s.P, stream, body, code);
}

template <typename T>
Status interp_face_attrs_backward_cuda(const InterpFaceAttrsBackward<T>& body, int32_t* code,
                                       uintptr_t stream) {
  return cuda_parallel_for_max(body.s.P, stream, body, code);
}

#define R3D_INSTANTIATE(T)                                                                      \
  template Status interp_face_attrs_forward_cuda<T>(const InterpFaceAttrsForward<T>&, int32_t*, \
                                                    uintptr_t);                                 \
  template Status interp_face_attrs_backward_cuda<T>(const InterpFaceAttrsBackward<T>&,         \
                                                     int32_t*, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
