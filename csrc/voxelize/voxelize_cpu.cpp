#include "common/cpu_loop.h"
#include "voxelize/voxelize.h"
#include "voxelize/voxelize_launchers.h"

namespace r3d {

namespace {

// Cost units of one face (its column box, a few columns on average at sizes where faces are
// about a voxel wide; the dynamic loop evens out larger faces) and of one voxel of a column.
constexpr int64_t kFaceCost = 64;
constexpr int64_t kVoxelCost = 2;

}  // namespace

template <typename T>
Status voxelize_crossings_cpu(const VoxelizeCrossings<T>& body, int num_threads) {
  parallel_for_dynamic(body.num_faces, kFaceCost, num_threads, body);
  return Status::ok();
}

template <typename T>
Status voxelize_fill_cpu(const VoxelizeFill<T>& body, int num_threads) {
  parallel_for(body.g.N * body.g.H, kVoxelCost * body.g.D * body.g.W, num_threads,
               [&body](int64_t r) { body.row(r); });
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                       \
  template Status voxelize_crossings_cpu<T>(const VoxelizeCrossings<T>&, int); \
  template Status voxelize_fill_cpu<T>(const VoxelizeFill<T>&, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
