// The CUDA fine kernel of the GPU rasterisers (the scheme and the Op interface are in
// common/gpu_fine.h) and the warp-summed scatter-add of their backward (common/warp_sums.h).
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common/gpu_fine.h"
#include "common/warp_sums.h"

namespace r3d {

// The block of bin blockIdx.x: a thread per pixel (Threads = B * B, which bounds the registers a
// thread may use); the bin's elements staged chunk by chunk.
template <typename Op, bool Local, int Threads>
__global__ void __launch_bounds__(Threads) gpu_fine_kernel(Op op) {
  extern __shared__ __align__(16) unsigned char shared_bytes[];
  auto* staged = reinterpret_cast<typename Op::Staged*>(shared_bytes);
  const int64_t b = blockIdx.x;
  typename Op::template Pixel<Local> pixel(op, b, threadIdx.x);
  const int64_t begin = op.bins.first[b], end = op.bins.first[b + 1];
  for (int64_t c = begin; c < end; c += kStageChunk) {
    const int m = static_cast<int>(end - c < kStageChunk ? end - c : kStageChunk);
    __syncthreads();  // the previous chunk is done with
    for (int i = threadIdx.x; i < m; i += Threads) staged[i] = op.stage(op.bins.elems[c + i]);
    __syncthreads();
    if (pixel.active)
      for (int i = 0; i < m; ++i) pixel.test(staged[i], op);
  }
  if (pixel.active) pixel.write(op);
}

template <typename Op, int Threads>
void launch_gpu_fine_with(const Op& op, int64_t num_bins, bool local, cudaStream_t stream) {
  const size_t shared = sizeof(typename Op::Staged) * kStageChunk;
  if (local) gpu_fine_kernel<Op, true, Threads><<<num_bins, Threads, shared, stream>>>(op);
  else gpu_fine_kernel<Op, false, Threads><<<num_bins, Threads, shared, stream>>>(op);
}

// Runs the fine pass of op over its num_bins bins (side 8, 16 or 32); local: K <= kLocalK.
template <typename Op>
Status launch_gpu_fine(const Op& op, int64_t num_bins, bool local, cudaStream_t stream) {
  switch (op.bins.grid.B) {
    case 8: launch_gpu_fine_with<Op, 64>(op, num_bins, local, stream); break;
    case 16: launch_gpu_fine_with<Op, 256>(op, num_bins, local, stream); break;
    default: launch_gpu_fine_with<Op, 1024>(op, num_bins, local, stream);
  }
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? Status::ok() : Status::error(cudaGetErrorString(err));
}

// Adds the V values vals to dest[V * key ...] (nothing for key < 0), the lanes of the warp that
// hold the same key summing theirs first so that one atomic per key and warp reaches memory.
// Every lane of the warp must call it (vals are changed).
template <int V, typename T>
__device__ void warp_scatter_add(int64_t key, T* vals, T* dest) {
  const int lane = threadIdx.x & 31;
  const uint32_t peers = __match_any_sync(0xffffffffu, static_cast<unsigned long long>(key));
  const int rank = peer_rank(peers, lane), size = popcount32(peers);
  for (int step = 1; __any_sync(0xffffffffu, step < size); step *= 2) {
    const int src = peer_source(peers, rank, step);
    for (int i = 0; i < V; ++i) {
      const T other = __shfl_sync(0xffffffffu, vals[i], src < 0 ? lane : src);
      if (src >= 0) vals[i] += other;
    }
  }
  if (rank == 0 && key >= 0)
    for (int i = 0; i < V; ++i) atomicAdd(dest + V * key + i, vals[i]);
}

// Runs slot.slot_gradient(q, k, vals) -> key for every pixel q < num_pixels and slot k < K, a thread per pixel
// in a warp-uniform loop, and scatter-adds each slot's V values with warp_scatter_add.
template <int V, typename T, typename Slot>
__global__ void warp_summed_backward_kernel(Slot slot, int64_t num_pixels, int64_t K, T* dest) {
  const int lane = threadIdx.x & 31;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  for (int64_t base = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x - lane;
       base < num_pixels; base += stride) {
    const int64_t q = base + lane;
    for (int64_t k = 0; k < K; ++k) {
      T vals[V] = {};
      const int64_t key = q < num_pixels ? slot.slot_gradient(q, k, vals) : -1;
      warp_scatter_add<V>(key, vals, dest);
    }
  }
}

template <int V, typename T, typename Slot>
Status launch_warp_summed_backward(const Slot& slot, int64_t num_pixels, int64_t K, T* dest,
                                   cudaStream_t stream) {
  if (num_pixels == 0) return Status::ok();
  const int threads = 256;
  const int64_t blocks = (num_pixels + threads - 1) / threads;
  warp_summed_backward_kernel<V, T><<<static_cast<int>(blocks < 65535 ? blocks : 65535), threads,
                                      0, stream>>>(slot, num_pixels, K, dest);
  const cudaError_t err = cudaGetLastError();
  return err == cudaSuccess ? Status::ok() : Status::error(cudaGetErrorString(err));
}

}  // namespace r3d
