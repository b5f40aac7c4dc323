// The CUDA launcher loop: runs body(i) for i in [0, n) as a grid-stride loop on a given stream.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common/macros.h"

namespace r3d {

template <typename Body>
__global__ void grid_stride_kernel(int64_t n, Body body) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(blockDim.x) * gridDim.x) {
    body(i);
  }
}

// Launches body over n elements and reports launch errors as a Status (never throws).
template <typename Body>
inline Status cuda_parallel_for(int64_t n, uintptr_t stream, const Body& body) {
  if (n <= 0) return Status::ok();
  const int threads = 256;
  int64_t blocks64 = (n + threads - 1) / threads;
  const int blocks = static_cast<int>(blocks64 < 65535 ? blocks64 : 65535);
  grid_stride_kernel<<<blocks, threads, 0, reinterpret_cast<cudaStream_t>(stream)>>>(n, body);
  cudaError_t err = cudaGetLastError();
  if (err != cudaSuccess) return Status::error(cudaGetErrorString(err));
  return Status::ok();
}

template <typename Body>
struct MaxCodeBody {
  Body body;
  int* worst;
  __device__ void operator()(int64_t i) const {
    const int code = body(i);
    if (code > 0) atomicMax(worst, code);
  }
};

// Like cuda_parallel_for for bodies that return an int code (0 for success): atomically raises
// *worst (a device int the caller zeroed) to the largest code any element returned.
template <typename Body>
inline Status cuda_parallel_for_max(int64_t n, uintptr_t stream, const Body& body, int* worst) {
  return cuda_parallel_for(n, stream, MaxCodeBody<Body>{body, worst});
}

}  // namespace r3d
