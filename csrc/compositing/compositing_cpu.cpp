// CPU launchers of point compositing: OpenMP over pixels. The backward's scatter onto the
// features goes to one buffer per thread (parallel_accumulate), so threads never race.
#include "common/cpu_loop.h"
#include "compositing/compositing.h"
#include "compositing/compositing_launchers.h"

namespace r3d {

template <typename T>
Status composite_forward_cpu(const CompositeForward<T>& body, int32_t* code, int num_threads) {
  *code = parallel_for_max(body.s.N * body.s.H * body.s.W, num_threads, body);
  return Status::ok();
}

template <typename T>
Status composite_backward_cpu(const CompositeBackward<T>& body, int num_threads) {
  const int64_t num_pixels = body.s.N * body.s.H * body.s.W;
  if (body.grad_features == nullptr) {
    parallel_for(num_pixels, num_threads, body);
    return Status::ok();
  }
  if (num_pixels * body.s.K < (int64_t{1} << 14)) num_threads = 1;
  const auto make_body = [&](T* acc) {
    CompositeBackward<T> b = body;
    b.grad_features = acc;
    return b;
  };
  if (!parallel_accumulate(num_pixels, body.s.C * body.s.P, body.grad_features, num_threads,
                           make_body))
    return Status::error("out of memory in the backward of point compositing");
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                   \
  template Status composite_forward_cpu<T>(const CompositeForward<T>&, int32_t*, int);       \
  template Status composite_backward_cpu<T>(const CompositeBackward<T>&, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
