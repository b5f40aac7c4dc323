#include <cuda_runtime.h>

#include "cuda/device.h"

namespace r3d {

Status cuda_device_count(int* count) {
  *count = 0;
  cudaError_t err = cudaGetDeviceCount(count);
  if (err != cudaSuccess) {
    *count = 0;
    cudaGetLastError();  // clear the sticky error so later calls start clean
    return Status::error(cudaGetErrorString(err));
  }
  return Status::ok();
}

Status cuda_set_device(int index) {
  cudaError_t err = cudaSetDevice(index);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return Status::error(cudaGetErrorString(err));
  }
  return Status::ok();
}

Status cuda_get_device(int* index) {
  cudaError_t err = cudaGetDevice(index);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return Status::error(cudaGetErrorString(err));
  }
  return Status::ok();
}

Status cuda_driver_version(int* version) {
  *version = 0;
  cudaError_t err = cudaDriverGetVersion(version);
  if (err != cudaSuccess) {
    cudaGetLastError();
    return Status::error(cudaGetErrorString(err));
  }
  return Status::ok();
}

Status cuda_stream_synchronize(uintptr_t stream) {
  cudaError_t err = cudaStreamSynchronize(reinterpret_cast<cudaStream_t>(stream));
  if (err != cudaSuccess) return Status::error(cudaGetErrorString(err));
  return Status::ok();
}

}  // namespace r3d
