#include "common/cuda_loop.cuh"
#include "marching_cubes/marching_cubes.h"
#include "marching_cubes/marching_cubes_launchers.h"

namespace r3d {

template <typename T>
Status marching_cubes_count_cuda(const MarchingCubesCount<T>& body, uintptr_t stream) {
  const int64_t n = body.g.N * body.g.D * body.g.H * body.g.W;
  return cuda_parallel_for(n, stream, body);
}

template <typename T>
Status marching_cubes_emit_cuda(const MarchingCubesEmit<T>& body, uintptr_t stream) {
  const int64_t n = body.g.N * body.g.D * body.g.H * body.g.W;
  return cuda_parallel_for(n, stream, body);
}

#define R3D_INSTANTIATE(T)                                                          \
  template Status marching_cubes_count_cuda<T>(const MarchingCubesCount<T>&, uintptr_t); \
  template Status marching_cubes_emit_cuda<T>(const MarchingCubesEmit<T>&, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
