// CPU launchers of point compositing: OpenMP over pixels. The backward's scatter onto the
// features goes to one buffer per thread (parallel_accumulate), so threads never race.
#include "common/cpu_loop.h"
#include "compositing/compositing.h"
#include "compositing/compositing_launchers.h"

namespace r3d {

namespace {

// Cost units of one pixel's forward or backward: a few operations per slot and channel.
int64_t pixel_cost(const CompositeShape& s) { return 3 * s.K * (s.C + 1); }

}  // namespace

template <typename T>
Status composite_forward_cpu(const CompositeForward<T>& body, int32_t* code, int num_threads) {
  const int64_t num_pixels = body.s.N * body.s.H * body.s.W;
  *code = parallel_for_max(num_pixels, pixel_cost(body.s), num_threads, body);
  return Status::ok();
}

template <typename T>
Status composite_backward_cpu(const CompositeBackward<T>& body, int num_threads) {
  const int64_t num_pixels = body.s.N * body.s.H * body.s.W;
  if (body.grad_features == nullptr) {
    parallel_for(num_pixels, 2 * pixel_cost(body.s), num_threads, body);
    return Status::ok();
  }
  const auto make_body = [&](T* acc) {
    CompositeBackward<T> b = body;
    b.grad_features = acc;
    return b;
  };
  if (!parallel_accumulate(num_pixels, 2 * pixel_cost(body.s), body.s.C * body.s.P,
                           body.grad_features, num_threads, make_body))
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
