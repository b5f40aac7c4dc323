// CPU launchers of splatting points into volumes. The forward is deterministic without atomics
// or buffers: each thread owns a contiguous share of the volumes' N * D depth rows and runs the
// body over every point of the items its rows belong to, adding only the corners in its rows; so
// every voxel sums its points in index order, whatever the thread count. The backward runs one
// point per element (each writes its own gradient rows).
#include <algorithm>

#include "common/cpu_loop.h"
#include "points_to_volumes/points_to_volumes.h"
#include "points_to_volumes/points_to_volumes_launchers.h"

namespace r3d {

namespace {

// Cost units of one point: locating it, then a few operations per corner and channel.
int64_t point_cost(const SplatShape& s) { return 20 + (s.trilinear ? 8 : 1) * (2 * s.C + 4); }

}  // namespace

template <typename T>
Status points_to_volumes_forward_cpu(const SplatForward<T>& body, int num_threads) {
  const SplatShape& s = body.s;
  const int64_t rows = s.N * s.D;
  if (rows == 0 || s.P == 0) return Status::ok();
  const int shares = threads_for(work_of(s.N * s.P, point_cost(s)), rows, num_threads);
  parallel_shares(rows, shares, [&](int, int64_t begin, int64_t end) {
    if (begin >= end) return;
    SplatForward<T> share = body;
    share.row_begin = begin;
    share.row_end = end;
    const int64_t last = std::min((end - 1) / s.D + 1, s.N) * s.P;
    for (int64_t i = begin / s.D * s.P; i < last; ++i) share(i);
  });
  return Status::ok();
}

template <typename T>
Status points_to_volumes_backward_cpu(const SplatBackward<T>& body, int num_threads) {
  parallel_for(body.s.N * body.s.P, 2 * point_cost(body.s), num_threads, body);
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                            \
  template Status points_to_volumes_forward_cpu<T>(const SplatForward<T>&, int);      \
  template Status points_to_volumes_backward_cpu<T>(const SplatBackward<T>&, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
