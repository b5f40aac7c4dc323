// Work arrays of the CUDA launchers: device memory from the stream-ordered allocator
// (cudaMallocAsync), freed on the stream when the array goes away, after the kernels that read
// it.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "common/macros.h"

namespace r3d {

// A device array of n values of T from the stream's memory pool, freed on that stream.
template <typename T>
class DeviceArray {
 public:
  DeviceArray() = default;
  DeviceArray(const DeviceArray&) = delete;
  DeviceArray& operator=(const DeviceArray&) = delete;
  ~DeviceArray() {
    if (p_) cudaFreeAsync(p_, stream_);
  }
  Status allocate(int64_t n, cudaStream_t stream) {
    stream_ = stream;
    const size_t bytes = sizeof(T) * static_cast<size_t>(n > 0 ? n : 1);
    if (cudaMallocAsync(reinterpret_cast<void**>(&p_), bytes, stream) != cudaSuccess) {
      cudaGetLastError();  // clears the error
      p_ = nullptr;
      return Status::error("out of GPU memory for a kernel's work arrays");
    }
    return Status::ok();
  }
  T* get() const { return p_; }

 private:
  T* p_ = nullptr;
  cudaStream_t stream_ = nullptr;
};

inline Status cuda_status(cudaError_t err) {
  return err == cudaSuccess ? Status::ok() : Status::error(cudaGetErrorString(err));
}

}  // namespace r3d
