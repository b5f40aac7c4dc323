#include "common/cpu_loop.h"
#include "marching_cubes/marching_cubes.h"
#include "marching_cubes/marching_cubes_launchers.h"

namespace r3d {

namespace {

// Cost units of one voxel: its case and crossed edges; its vertices and triangles.
constexpr int64_t kCountCost = 24;
constexpr int64_t kEmitCost = 16;

}  // namespace

template <typename T>
Status marching_cubes_count_cpu(const MarchingCubesCount<T>& body, int num_threads) {
  const int64_t n = body.g.N * body.g.D * body.g.H * body.g.W;
  parallel_for(n, kCountCost, num_threads, body);
  return Status::ok();
}

template <typename T>
Status marching_cubes_emit_cpu(const MarchingCubesEmit<T>& body, int num_threads) {
  const int64_t n = body.g.N * body.g.D * body.g.H * body.g.W;
  parallel_for(n, kEmitCost, num_threads, body);
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                          \
  template Status marching_cubes_count_cpu<T>(const MarchingCubesCount<T>&, int); \
  template Status marching_cubes_emit_cpu<T>(const MarchingCubesEmit<T>&, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
