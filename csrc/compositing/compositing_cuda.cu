// CUDA launchers of point compositing: one thread per pixel; the backward adds into the
// features' gradient with atomics.
#include "common/cuda_loop.cuh"
#include "compositing/compositing.h"
#include "compositing/compositing_launchers.h"

namespace r3d {

template <typename T>
Status composite_forward_cuda(const CompositeForward<T>& body, int32_t* code, uintptr_t stream) {
  return cuda_parallel_for_max(body.s.N * body.s.H * body.s.W, stream, body, code);
}

template <typename T>
Status composite_backward_cuda(const CompositeBackward<T>& body, uintptr_t stream) {
  return cuda_parallel_for(body.s.N * body.s.H * body.s.W, stream, body);
}

#define R3D_INSTANTIATE(T)                                                                   \
  template Status composite_forward_cuda<T>(const CompositeForward<T>&, int32_t*, uintptr_t); \
  template Status composite_backward_cuda<T>(const CompositeBackward<T>&, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
