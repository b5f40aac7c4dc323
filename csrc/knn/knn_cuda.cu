// CUDA launchers of knn_points. The forward takes the grid schedule of knn_grid.h for large 3D
// clouds (use_knn_grid), the tiled schedule of knn_tiled.h (query and searched points in
// registers and shared memory) for other D <= 4 and K <= 32, else the brute-force body of knn.h,
// one thread per query. The backward is the per-query body of knn.h.
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>

#include "common/cuda_loop.cuh"
#include "common/gpu_bins.cuh"
#include "knn/knn.h"
#include "knn/knn_grid.h"
#include "knn/knn_launchers.h"
#include "knn/knn_tiled.h"

namespace r3d {

namespace {

// The block of queries [blockIdx.x * kKnnBlock, + kKnnBlock) of cloud blockIdx.y.
template <typename T, int D, int KMAX>
__global__ void __launch_bounds__(kKnnBlock)
    knn_tiled_kernel(const T* p1, const T* p2, const int64_t* lengths1, const int64_t* lengths2,
                     KnnShape s, T* dists, int64_t* idx) {
  __shared__ T tile[kKnnBlock * D];
  const int64_t n = blockIdx.y, first = static_cast<int64_t>(blockIdx.x) * kKnnBlock;
  const int64_t i = first + threadIdx.x;
  TiledKnnQuery<T, D, KMAX> query(p1, lengths1, s, n, i < s.P1 ? i : 0);
  query.active = query.active && i < s.P1;
  // a block whose queries are all padding searches nothing (block-uniform)
  const int64_t len2 = first < lengths1[n] ? lengths2[n] : 0;
  const T* cloud = p2 + n * s.P2 * D;
  for (int64_t t = 0; t < len2; t += kKnnBlock) {
    const int m = static_cast<int>(len2 - t < kKnnBlock ? len2 - t : kKnnBlock);
    __syncthreads();  // the previous tile is done with
    for (int j = threadIdx.x; j < m * D; j += kKnnBlock) tile[j] = cloud[t * D + j];
    __syncthreads();
    if (query.active)
      for (int j = 0; j < m; ++j) query.visit(tile + j * D, t + j, s.norm);
  }
  if (i < s.P1) query.write(lengths2, s, n, i, dists, idx);
}

// The grid of cloud blockIdx.x: its bounding box reduced over the block, then knn_grid_cloud.
template <typename T>
__global__ void __launch_bounds__(kKnnBlock)
    knn_grid_cloud_kernel(const T* p2, const int64_t* lengths2, int64_t P2, int64_t budget,
                          KnnGridCloud* grids) {
  __shared__ double lo[kKnnBlock][3], hi[kKnnBlock][3];
  const int64_t n = blockIdx.x, len = lengths2[n];
  const int t = threadIdx.x;
  for (int a = 0; a < 3; ++a) {
    lo[t][a] = std::numeric_limits<double>::infinity();
    hi[t][a] = -std::numeric_limits<double>::infinity();
  }
  knn_grid_bounds(p2 + n * P2 * 3, len, t, kKnnBlock, lo[t], hi[t]);
  for (int half = kKnnBlock / 2; half > 0; half /= 2) {
    __syncthreads();
    if (t < half)
      for (int a = 0; a < 3; ++a) {
        lo[t][a] = ::fmin(lo[t][a], lo[t + half][a]);
        hi[t][a] = ::fmax(hi[t][a], hi[t + half][a]);
      }
  }
  if (t == 0) grids[n] = knn_grid_cloud(lo[0], hi[0], len, budget);
}

template <typename T>
struct KnnGridCountBody {
  KnnGridSort<T> sort;
  int64_t* counts;
  __device__ void operator()(int64_t e) const { sort.count(e, counts); }
};
template <typename T>
struct KnnGridFillBody {
  KnnGridSort<T> sort;
  int64_t* cursor;
  T* pts;
  int32_t* ids;
  __device__ void operator()(int64_t e) const { sort.fill(e, cursor, pts, ids); }
};

// The grid schedule: grids, count / scan / fill of the points by cell, then a thread per query.
// No host synchronisation: every size is known from the shapes.
template <typename T>
Status knn_grid_forward(const T* p1, const T* p2, const int64_t* lengths1,
                        const int64_t* lengths2, const KnnShape& s, T* dists, int64_t* idx,
                        cudaStream_t stream) {
  const uintptr_t st = reinterpret_cast<uintptr_t>(stream);
  const int64_t budget = knn_grid_budget(s.P2), slots = s.N * budget;
  DeviceArray<KnnGridCloud> grids;
  DeviceArray<int64_t> counts, first, cursor;
  DeviceArray<T> pts;
  DeviceArray<int32_t> ids;
  R3D_TRY(grids.allocate(s.N, stream));
  knn_grid_cloud_kernel<T><<<static_cast<unsigned>(s.N), kKnnBlock, 0, stream>>>(
      p2, lengths2, s.P2, budget, grids.get());
  R3D_TRY(cuda_status(cudaGetLastError()));
  const KnnGridSort<T> sort{p2, lengths2, s.P2, budget, grids.get()};
  R3D_TRY(counts.allocate(slots + 1, stream));
  R3D_TRY(cuda_status(cudaMemsetAsync(counts.get(), 0, sizeof(int64_t) * (slots + 1), stream)));
  R3D_TRY(cuda_parallel_for(s.N * s.P2, st, KnnGridCountBody<T>{sort, counts.get()}));
  R3D_TRY(first.allocate(slots + 1, stream));
  size_t scratch_bytes = 0;
  R3D_TRY(cuda_status(cub::DeviceScan::ExclusiveSum(nullptr, scratch_bytes, counts.get(),
                                                    first.get(), slots + 1, stream)));
  DeviceArray<unsigned char> scratch;
  R3D_TRY(scratch.allocate(static_cast<int64_t>(scratch_bytes), stream));
  R3D_TRY(cuda_status(cub::DeviceScan::ExclusiveSum(scratch.get(), scratch_bytes, counts.get(),
                                                    first.get(), slots + 1, stream)));
  R3D_TRY(cursor.allocate(slots, stream));
  R3D_TRY(cuda_status(cudaMemcpyAsync(cursor.get(), first.get(), sizeof(int64_t) * slots,
                                      cudaMemcpyDeviceToDevice, stream)));
  R3D_TRY(pts.allocate(3 * s.N * s.P2, stream));
  R3D_TRY(ids.allocate(s.N * s.P2, stream));
  R3D_TRY(cuda_parallel_for(s.N * s.P2, st,
                            KnnGridFillBody<T>{sort, cursor.get(), pts.get(), ids.get()}));
  Status status = Status::ok();
  dispatch_tiled_knn(3, s.K, [&](auto, auto kmax) {
    status = cuda_parallel_for(
        s.N * s.P1, st,
        KnnGridSearch<T, decltype(kmax)::value>{p1, lengths1, lengths2, s, budget, grids.get(),
                                                first.get(), pts.get(), ids.get(), dists, idx});
  });
  return status;
}

}  // namespace

template <typename T>
Status knn_forward_cuda(const T* p1, const T* p2, const int64_t* lengths1,
                        const int64_t* lengths2, KnnShape s, T* dists, int64_t* idx,
                        uintptr_t stream) {
  if (s.N * s.P1 == 0) return Status::ok();
  const cudaStream_t st = reinterpret_cast<cudaStream_t>(stream);
  if (use_knn_grid(s)) return knn_grid_forward(p1, p2, lengths1, lengths2, s, dists, idx, st);
  const dim3 grid(static_cast<unsigned>((s.P1 + kKnnBlock - 1) / kKnnBlock),
                  static_cast<unsigned>(s.N));
  const bool tiled = s.N <= 65535 && dispatch_tiled_knn(s.D, s.K, [&](auto d, auto kmax) {
    knn_tiled_kernel<T, decltype(d)::value, decltype(kmax)::value>
        <<<grid, kKnnBlock, 0, st>>>(p1, p2, lengths1, lengths2, s, dists, idx);
  });
  if (tiled) {
    const cudaError_t err = cudaGetLastError();
    return err == cudaSuccess ? Status::ok() : Status::error(cudaGetErrorString(err));
  }
  return cuda_parallel_for(s.N * s.P1, stream,
                           KnnBruteForce<T>{p1, p2, lengths1, lengths2, s, dists, idx});
}

template <typename T>
Status knn_backward_cuda(const T* p1, const T* p2, const int64_t* lengths1,
                         const int64_t* lengths2, const int64_t* idx, const T* grad_dists,
                         KnnShape s, T* grad_p1, T* grad_pairs, uintptr_t stream) {
  return cuda_parallel_for(
      s.N * s.P1, stream,
      KnnBackward<T>{p1, p2, lengths1, lengths2, idx, grad_dists, s, grad_p1, grad_pairs});
}

#define R3D_INSTANTIATE(T)                                                                      \
  template Status knn_forward_cuda<T>(const T*, const T*, const int64_t*, const int64_t*,       \
                                      KnnShape, T*, int64_t*, uintptr_t);                       \
  template Status knn_backward_cuda<T>(const T*, const T*, const int64_t*, const int64_t*,      \
                                       const int64_t*, const T*, KnnShape, T*, T*, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
