// CUDA launcher of sample_farthest_points: a block per cloud. Each step, every thread lowers the
// distances of its strided share of the points (fps_scan) and keeps its best candidate; a
// shuffle tree per warp and one over the warps' candidates give the block's sample. A cloud's
// distances live in shared memory when they fit there, else in the workspace.
#include <cuda_runtime.h>

#include <cstdint>

#include "common/macros.h"
#include "sample_farthest_points/sample_farthest_points.h"
#include "sample_farthest_points/sample_farthest_points_launchers.h"

namespace r3d {

namespace {

// The best candidate of the warp's lanes, in lane 0 (shuffle-down tree; a lane past the end
// gets its own value back, which fps_better leaves unchanged).
template <typename T>
__device__ FpsBest<T> warp_best(FpsBest<T> best) {
  for (int offset = 16; offset > 0; offset /= 2) {
    const T value = __shfl_down_sync(0xffffffffu, best.value, offset);
    const long long index = __shfl_down_sync(0xffffffffu, static_cast<long long>(best.index),
                                             offset);
    best = fps_better(best, FpsBest<T>{value, static_cast<int64_t>(index)});
  }
  return best;
}

// Shared memory: the warps' candidates (32), the step's winner, then (in_shared) the distances.
template <int Dc, typename T>
__global__ void fps_kernel(FpsArgs<T> a, bool in_shared) {
  extern __shared__ __align__(16) unsigned char smem[];
  FpsBest<T>* warps_best = reinterpret_cast<FpsBest<T>*>(smem);
  FpsBest<T>* winner = warps_best + 32;
  const FpsShape& s = a.s;
  const int64_t n = blockIdx.x;
  T* dist = in_shared ? reinterpret_cast<T*>(winner + 1) : a.closest + n * s.P;
  const int t = threadIdx.x, lane = t & 31, warp = t >> 5, warps = blockDim.x >> 5;
  const int64_t length = a.lengths[n], count = fps_count(a.lengths, a.k, n);
  const T* cloud = a.points + n * s.P * s.D;
  int64_t* row = a.idx + n * s.max_k;
  fps_pad(row, count, s.max_k, t, blockDim.x);
  if (t == 0 && count > 0) row[0] = a.start[n];
  int64_t current = a.start[n];
  for (int64_t i = 1; i < count; ++i) {
    T local[Dc > 0 ? Dc : 1];
    const T* at = cloud + current * s.D;
    if constexpr (Dc > 0) {
      for (int d = 0; d < Dc; ++d) local[d] = at[d];
      at = local;
    }
    FpsBest<T> best =
        warp_best(fps_scan<Dc>(cloud, s.D, at, dist, t, length, blockDim.x, i == 1));
    if (lane == 0) warps_best[warp] = best;
    __syncthreads();
    if (warp == 0) {
      best = warp_best(lane < warps ? warps_best[lane] : fps_none<T>());
      if (lane == 0) *winner = best;
    }
    __syncthreads();
    current = winner->index;
    if (t == 0) row[i] = current;
  }
}

template <int Dc, typename T>
Status launch_fps(const FpsArgs<T>& a, cudaStream_t stream) {
  const size_t base = 33 * sizeof(FpsBest<T>);
  const size_t with_dists = base + sizeof(T) * static_cast<size_t>(a.s.P);
  int device = 0, most = 48 * 1024;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&most, cudaDevAttrMaxSharedMemoryPerBlockOptin, device);
  const bool in_shared = with_dists <= static_cast<size_t>(most);
  const size_t bytes = in_shared ? with_dists : base;
  if (bytes > 48 * 1024) {
    const cudaError_t err = cudaFuncSetAttribute(
        fps_kernel<Dc, T>, cudaFuncAttributeMaxDynamicSharedMemorySize, static_cast<int>(bytes));
    if (err != cudaSuccess) return Status::error(cudaGetErrorString(err));
  }
  fps_kernel<Dc, T><<<static_cast<unsigned>(a.s.N), fps_block_threads(a.s.P), bytes, stream>>>(
      a, in_shared);
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? Status::ok() : Status::error(cudaGetErrorString(err));
}

}  // namespace

template <typename T>
Status sample_farthest_points_cuda(const FpsArgs<T>& a, uintptr_t stream) {
  const FpsShape& s = a.s;
  if (s.N == 0) return Status::ok();
  if (s.N > 0x7fffffff) return Status::error("sample_farthest_points: more than 2^31 - 1 clouds");
  const cudaStream_t st = reinterpret_cast<cudaStream_t>(stream);
  return s.D == 3 ? launch_fps<3>(a, st) : launch_fps<0>(a, st);
}

template Status sample_farthest_points_cuda<float>(const FpsArgs<float>&, uintptr_t);
template Status sample_farthest_points_cuda<double>(const FpsArgs<double>&, uintptr_t);

}  // namespace r3d
