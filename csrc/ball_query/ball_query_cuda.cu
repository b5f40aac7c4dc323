// CUDA launchers of ball_query. D == 3: a block per cloud finds its bounding box and grid, each
// point's key (its cloud's cell) is counted into the cells and an exclusive scan gives each
// cell's start, a stable radix sort of the points by key lists each cell's points in index
// order, then a thread per query searches the 27 cells around it. Other D: a thread per query
// scans its cloud. (The backward is knn_points' backward.)
#include <cub/cub.cuh>
#include <cuda_runtime.h>

#include <cstdint>

#include "ball_query/ball_query.h"
#include "ball_query/ball_query_launchers.h"
#include "common/cuda_loop.cuh"
#include "common/device_array.cuh"

namespace r3d {

namespace {

constexpr int kBoxThreads = 256;

// Cloud blockIdx.x's grid: the threads' boxes of their strided points, merged by a tree.
template <typename T>
__global__ void ball_grid_kernel(const T* p2, const int64_t* lengths2, int64_t P2, double radius,
                                 int64_t C, BallGrid* grids) {
  __shared__ Box3<T> boxes[kBoxThreads];
  const int64_t n = blockIdx.x;
  const int t = threadIdx.x;
  Box3<T> box = Box3<T>::empty();
  for (int64_t j = t; j < lengths2[n]; j += kBoxThreads) box.add(p2 + (n * P2 + j) * 3);
  boxes[t] = box;
  __syncthreads();
  for (int stride = kBoxThreads / 2; stride > 0; stride /= 2) {
    if (t < stride) boxes[t].merge(boxes[t + stride]);
    __syncthreads();
  }
  if (t == 0) grids[n] = ball_grid(boxes[0], radius, C);
}

// Point e = n * P2 + j: its key and j, to be sorted by key.
template <typename T>
struct KeyBody {
  BallCellKey<T> key;
  unsigned long long* keys;
  int32_t* vals;
  __device__ void operator()(int64_t e) const {
    keys[e] = static_cast<unsigned long long>(key(e));
    vals[e] = static_cast<int32_t>(e % key.P2);
  }
};

struct CountBody {
  const unsigned long long* keys;
  int64_t* counts;
  __device__ void operator()(int64_t e) const {
    atomicAdd(reinterpret_cast<unsigned long long*>(counts + keys[e]), 1ull);
  }
};

template <typename T>
Status grid_forward(const BallQueryArgs<T>& a, cudaStream_t stream) {
  const BallQueryShape& s = a.s;
  const uintptr_t st = reinterpret_cast<uintptr_t>(stream);
  const int64_t C = ball_cell_budget(s.P2), E = s.N * s.P2, num_cells = s.N * C;
  if (E > 0x7fffffff) return Status::error("ball_query: more than 2^31 - 1 points in p2");
  DeviceArray<BallGrid> grids;
  DeviceArray<unsigned long long> keys, sorted_keys;
  DeviceArray<int64_t> counts, first;
  DeviceArray<int32_t> vals, sorted;
  R3D_TRY(grids.allocate(s.N, stream));
  ball_grid_kernel<T><<<static_cast<unsigned>(s.N), kBoxThreads, 0, stream>>>(
      a.p2, a.lengths2, s.P2, a.radius, C, grids.get());
  R3D_TRY(cuda_status(cudaGetLastError()));
  R3D_TRY(keys.allocate(E, stream));
  R3D_TRY(vals.allocate(E, stream));
  R3D_TRY(cuda_parallel_for(E, st,
                            KeyBody<T>{BallCellKey<T>{a.p2, a.lengths2, grids.get(), s.N, s.P2, C},
                                       keys.get(), vals.get()}));
  R3D_TRY(counts.allocate(num_cells + 1, stream));
  R3D_TRY(cuda_status(
      cudaMemsetAsync(counts.get(), 0, sizeof(int64_t) * (num_cells + 1), stream)));
  R3D_TRY(cuda_parallel_for(E, st, CountBody{keys.get(), counts.get()}));
  R3D_TRY(first.allocate(num_cells + 1, stream));
  size_t scan_bytes = 0, sort_bytes = 0;
  R3D_TRY(cuda_status(cub::DeviceScan::ExclusiveSum(nullptr, scan_bytes, counts.get(),
                                                    first.get(), num_cells + 1, stream)));
  int end_bit = 1;
  while (end_bit < 64 && (uint64_t{1} << end_bit) <= static_cast<uint64_t>(num_cells)) ++end_bit;
  R3D_TRY(sorted_keys.allocate(E, stream));
  R3D_TRY(sorted.allocate(E, stream));
  R3D_TRY(cuda_status(cub::DeviceRadixSort::SortPairs(
      nullptr, sort_bytes, keys.get(), sorted_keys.get(), vals.get(), sorted.get(),
      static_cast<int>(E), 0, end_bit, stream)));
  DeviceArray<unsigned char> scratch;
  R3D_TRY(scratch.allocate(static_cast<int64_t>(scan_bytes > sort_bytes ? scan_bytes : sort_bytes),
                           stream));
  R3D_TRY(cuda_status(cub::DeviceScan::ExclusiveSum(scratch.get(), scan_bytes, counts.get(),
                                                    first.get(), num_cells + 1, stream)));
  R3D_TRY(cuda_status(cub::DeviceRadixSort::SortPairs(
      scratch.get(), sort_bytes, keys.get(), sorted_keys.get(), vals.get(), sorted.get(),
      static_cast<int>(E), 0, end_bit, stream)));
  return cuda_parallel_for(s.N * s.P1, st,
                           BallQuery<T>{a, BallCells{grids.get(), first.get(), sorted.get(), C}});
}

}  // namespace

template <typename T>
Status ball_query_forward_cuda(const BallQueryArgs<T>& a, uintptr_t stream) {
  const BallQueryShape& s = a.s;
  if (s.N * s.P1 == 0) return Status::ok();
  if (s.D != 3 || s.P2 == 0)
    return cuda_parallel_for(s.N * s.P1, stream, BallQuery<T>{a, BallCells{}});
  if (s.N > 0x7fffffff) return Status::error("ball_query: more than 2^31 - 1 clouds");
  return grid_forward(a, reinterpret_cast<cudaStream_t>(stream));
}

template Status ball_query_forward_cuda<float>(const BallQueryArgs<float>&, uintptr_t);
template Status ball_query_forward_cuda<double>(const BallQueryArgs<double>&, uintptr_t);

}  // namespace r3d
