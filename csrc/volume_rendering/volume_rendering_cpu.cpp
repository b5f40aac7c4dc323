// CPU launchers of emission-absorption rendering of voxel grids: OpenMP over rays. The
// backward's scatter onto the grid goes to one buffer per thread (parallel_accumulate), and each
// thread reuses one scratch row for all its rays.
#include <omp.h>

#include <algorithm>
#include <new>
#include <vector>

#include "common/cpu_loop.h"
#include "volume_rendering/volume_rendering.h"
#include "volume_rendering/volume_rendering_launchers.h"

namespace r3d {

namespace {

// Cost units of one ray's forward: per sample, the corners and eight reads of every channel
// (about 12 ns with four channels, measured).
int64_t ray_cost(const EaGridShape& s) { return s.P * (4 + 2 * s.K); }

// The backward body of one thread: its scatter target and scratch row.
template <typename T>
struct ThreadBackward {
  EaGridBackward<T> body;
  T* row;
  void operator()(int64_t r) const { body.ray(r, row); }
};

}  // namespace

template <typename T>
Status ea_grid_forward_cpu(const EaGridForward<T>& body, int num_threads) {
  parallel_for(body.in.s.N * body.in.s.R, ray_cost(body.in.s), num_threads, body);
  return Status::ok();
}

template <typename T>
Status ea_grid_backward_cpu(const EaGridBackward<T>& body, int num_threads) {
  const EaGridShape& s = body.in.s;
  const int64_t row_size = 3 * s.P;
  std::vector<T> rows;  // thread t's row: rows[t * row_size ...]
  try {
    rows.resize(static_cast<size_t>(std::max(num_threads, 1) * row_size));
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory in the backward of emission-absorption rendering");
  }
  // make_body runs on each thread of parallel_accumulate's team (or on the caller alone)
  const auto make_body = [&](T* acc) {
    ThreadBackward<T> b{body, rows.data() + omp_get_thread_num() * row_size};
    b.body.grad_grid = acc;
    return b;
  };
  if (!parallel_accumulate(s.N * s.R, 2 * ray_cost(s), s.N * s.K * s.voxels(), body.grad_grid,
                           num_threads, make_body))
    return Status::error("out of memory in the backward of emission-absorption rendering");
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                    \
  template Status ea_grid_forward_cpu<T>(const EaGridForward<T>&, int);       \
  template Status ea_grid_backward_cpu<T>(const EaGridBackward<T>&, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
