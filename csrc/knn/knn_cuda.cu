// CUDA launchers of knn_points. The forward takes the tiled schedule of knn_tiled.h (query and
// searched points in registers and shared memory) for D <= 4 and K <= 32, else the brute-force
// body of knn.h, one thread per query. The backward is the per-query body of knn.h.
#include <cuda_runtime.h>

#include "common/cuda_loop.cuh"
#include "knn/knn.h"
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

}  // namespace

template <typename T>
Status knn_forward_cuda(const T* p1, const T* p2, const int64_t* lengths1,
                        const int64_t* lengths2, KnnShape s, T* dists, int64_t* idx,
                        uintptr_t stream) {
  if (s.N * s.P1 == 0) return Status::ok();
  const cudaStream_t st = reinterpret_cast<cudaStream_t>(stream);
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
