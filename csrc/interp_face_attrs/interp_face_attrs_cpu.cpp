#include "common/cpu_loop.h"
#include "interp_face_attrs/interp_face_attrs.h"
#include "interp_face_attrs/interp_face_attrs_launchers.h"

namespace r3d {

namespace {

// Cost units of one slot: a few operations per attribute channel.
int64_t slot_cost(const InterpShape& s) { return 4 + 3 * s.D; }

}  // namespace

template <typename T>
Status interp_face_attrs_forward_cpu(const InterpFaceAttrsForward<T>& body, int32_t* code,
                                     int num_threads) {
  *code = parallel_for_max(body.s.P, slot_cost(body.s), num_threads, body);
  return Status::ok();
}

template <typename T>
Status interp_face_attrs_backward_cpu(const InterpFaceAttrsBackward<T>& body, int32_t* code,
                                      int num_threads) {
  *code = parallel_for_max(body.s.P, 2 * slot_cost(body.s), num_threads, body);
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                     \
  template Status interp_face_attrs_forward_cpu<T>(const InterpFaceAttrsForward<T>&, int32_t*, \
                                                   int);                                       \
  template Status interp_face_attrs_backward_cpu<T>(const InterpFaceAttrsBackward<T>&,         \
                                                    int32_t*, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
