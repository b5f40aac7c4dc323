#include "common/cuda_loop.cuh"
#include "voxelize/voxelize.h"
#include "voxelize/voxelize_launchers.h"

namespace r3d {

template <typename T>
Status voxelize_crossings_cuda(const VoxelizeCrossings<T>& body, uintptr_t stream) {
  return cuda_parallel_for(body.num_faces, stream, body);
}

template <typename T>
Status voxelize_fill_cuda(const VoxelizeFill<T>& body, uintptr_t stream) {
  return cuda_parallel_for(body.g.N * body.g.H * body.g.W, stream, body);
}

#define R3D_INSTANTIATE(T)                                                             \
  template Status voxelize_crossings_cuda<T>(const VoxelizeCrossings<T>&, uintptr_t); \
  template Status voxelize_fill_cuda<T>(const VoxelizeFill<T>&, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
