// CUDA launchers of emission-absorption rendering of voxel grids: one thread per ray; the
// backward adds into the grid's gradient with atomics and keeps each ray's scratch row in
// global memory.
#include "common/cuda_loop.cuh"
#include "volume_rendering/volume_rendering.h"
#include "volume_rendering/volume_rendering_launchers.h"

namespace r3d {

template <typename T>
Status ea_grid_forward_cuda(const EaGridForward<T>& body, uintptr_t stream) {
  return cuda_parallel_for(body.in.s.N * body.in.s.R, stream, body);
}

template <typename T>
Status ea_grid_backward_cuda(const EaGridBackward<T>& body, uintptr_t stream) {
  if (body.scratch == nullptr && body.in.s.P > 0)
    return Status::error("ea_grid_backward_cuda needs a scratch of N * R * 3 * P values");
  return cuda_parallel_for(body.in.s.N * body.in.s.R, stream, body);
}

#define R3D_INSTANTIATE(T)                                                          \
  template Status ea_grid_forward_cuda<T>(const EaGridForward<T>&, uintptr_t);      \
  template Status ea_grid_backward_cuda<T>(const EaGridBackward<T>&, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
