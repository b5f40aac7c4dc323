// CUDA launchers of splatting points into volumes: one thread per point; the forward adds into
// the volumes with atomics (so the order of a voxel's sum, and its last bits, vary from run to
// run), the backward writes each point's own gradient rows.
#include "common/cuda_loop.cuh"
#include "points_to_volumes/points_to_volumes.h"
#include "points_to_volumes/points_to_volumes_launchers.h"

namespace r3d {

template <typename T>
Status points_to_volumes_forward_cuda(const SplatForward<T>& body, uintptr_t stream) {
  SplatForward<T> all = body;
  all.row_begin = 0;
  all.row_end = body.s.N * body.s.D;
  return cuda_parallel_for(body.s.N * body.s.P, stream, all);
}

template <typename T>
Status points_to_volumes_backward_cuda(const SplatBackward<T>& body, uintptr_t stream) {
  return cuda_parallel_for(body.s.N * body.s.P, stream, body);
}

#define R3D_INSTANTIATE(T)                                                                 \
  template Status points_to_volumes_forward_cuda<T>(const SplatForward<T>&, uintptr_t);    \
  template Status points_to_volumes_backward_cuda<T>(const SplatBackward<T>&, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
