// The CUDA driver of the GPU rasterisers' coarse pass (bodies and steps in common/gpu_bins.h).
// Its buffers come from the stream-ordered allocator (cudaMallocAsync) and are freed on the
// stream when the GpuBins holding them goes away, after the kernels that read them.
#pragma once

#include <cub/cub.cuh>
#include <cuda_runtime.h>

#include <cstdint>
#include <limits>

#include "common/cuda_loop.cuh"
#include "common/device_array.cuh"
#include "common/gpu_bins.h"

namespace r3d {

// The coarse pass's result: the grid (B == 0: the naive path, no bins) and its device arrays.
struct GpuBins {
  BinGrid grid{0, 0, 0};
  DeviceArray<int64_t> offsets;  // (N + 1,) element numbering
  DeviceArray<int64_t> first;    // (num_bins + 1,)
  DeviceArray<int32_t> elems;    // (first[num_bins],) element numbers, bin by bin
};

// Blocks of 256 threads for a grid-stride kernel over a count known only on the device: enough
// to fill the GPU.
inline int gpu_fill_blocks() {
  int device = 0, sms = 1;
  cudaGetDevice(&device);
  cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device);
  return 8 * sms;
}

// element_offsets on the device, as the body of a one-element cuda_parallel_for.
struct ElementOffsetsBody {
  const int64_t* count;
  int64_t N;
  int64_t* offsets;
  __device__ void operator()(int64_t) const { element_offsets(count, N, offsets); }
};

// Step 1 over every element (E read on the device): sums[i] += the bins of candidate side i
// touched, reduced per warp before one atomic per warp and candidate.
template <typename BoxOf>
__global__ void bin_touched_kernel(BinElements<BoxOf> elements, int64_t* sums) {
  const int64_t E = elements.offsets[elements.N];
  int64_t mine[kNumGpuBinSides] = {};
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < E;
       e += static_cast<int64_t>(blockDim.x) * gridDim.x)
    elements.count_touched(e, mine);
  for (int i = 0; i < kNumGpuBinSides; ++i) {
    int64_t v = mine[i];
    for (int d = 16; d > 0; d /= 2) v += __shfl_down_sync(0xffffffffu, v, d);
    if ((threadIdx.x & 31) == 0 && v) fetch_add(sums + i, v);
  }
}

// Steps 3 and 5 as bodies of cuda_parallel_for.
template <typename BoxOf>
struct BinCountBody {
  BinElements<BoxOf> elements;
  BinGrid grid;
  int64_t* count;
  __device__ void operator()(int64_t e) const { elements.count_bins(e, grid, count); }
};
template <typename BoxOf>
struct BinFillBody {
  BinElements<BoxOf> elements;
  BinGrid grid;
  int64_t* cursor;
  int32_t* elems;
  __device__ void operator()(int64_t e) const { elements.fill_bins(e, grid, cursor, elems); }
};

// The coarse pass for N images of H x W whose elements are first / count (device, (N,)) with
// pixel boxes box_of(n, item) (callable on the device). bin_size as in gpu_bin_side; when that
// chooses the naive path, bins->grid.B stays 0 and nothing runs. One device-to-host copy (the
// element count and the touched sums) synchronises the stream.
template <typename BoxOf>
Status gpu_bin_elements(const int64_t* first, const int64_t* count, int64_t N, int64_t H,
                        int64_t W, int64_t bin_size, const BoxOf& box_of, cudaStream_t stream,
                        GpuBins* bins) {
  if (bin_size >= (H > W ? H : W)) return Status::ok();
  R3D_TRY(bins->offsets.allocate(N + 1, stream));
  const uintptr_t st = reinterpret_cast<uintptr_t>(stream);
  R3D_TRY(cuda_parallel_for(1, st, ElementOffsetsBody{count, N, bins->offsets.get()}));
  const BinElements<BoxOf> elements{first, bins->offsets.get(), N, box_of};
  // sums: the touched sums of the candidate sides, then E
  DeviceArray<int64_t> sums;
  R3D_TRY(sums.allocate(kNumGpuBinSides + 1, stream));
  R3D_TRY(cuda_status(
      cudaMemsetAsync(sums.get(), 0, sizeof(int64_t) * kNumGpuBinSides, stream)));
  bin_touched_kernel<<<gpu_fill_blocks(), 256, 0, stream>>>(elements, sums.get());
  R3D_TRY(cuda_status(cudaMemcpyAsync(sums.get() + kNumGpuBinSides, bins->offsets.get() + N,
                                      sizeof(int64_t), cudaMemcpyDeviceToDevice, stream)));
  int64_t host[kNumGpuBinSides + 1];
  R3D_TRY(cuda_status(cudaMemcpyAsync(host, sums.get(), sizeof(host), cudaMemcpyDeviceToHost,
                                      stream)));
  R3D_TRY(cuda_status(cudaStreamSynchronize(stream)));
  const int64_t E = host[kNumGpuBinSides];
  if (E > std::numeric_limits<int32_t>::max())
    return Status::error("more than 2^31 - 1 elements in one rasteriser call");
  const int64_t B = gpu_bin_side(bin_size, N, H, W, host);
  bins->grid = BinGrid::make(B, H, W);
  if (B == 0) return Status::ok();
  int64_t entries = 0;
  for (int i = 0; i < kNumGpuBinSides; ++i)
    if (gpu_bin_side_candidate(i) == B) entries = host[i];
  const int64_t num_bins = N * bins->grid.per_image();
  DeviceArray<int64_t> counts, cursor;
  R3D_TRY(counts.allocate(num_bins + 1, stream));
  R3D_TRY(cuda_status(cudaMemsetAsync(counts.get(), 0, sizeof(int64_t) * (num_bins + 1), stream)));
  R3D_TRY(cuda_parallel_for(E, st, BinCountBody<BoxOf>{elements, bins->grid, counts.get()}));
  R3D_TRY(bins->first.allocate(num_bins + 1, stream));
  size_t scratch_bytes = 0;
  R3D_TRY(cuda_status(cub::DeviceScan::ExclusiveSum(nullptr, scratch_bytes, counts.get(),
                                                    bins->first.get(), num_bins + 1, stream)));
  DeviceArray<unsigned char> scratch;
  R3D_TRY(scratch.allocate(static_cast<int64_t>(scratch_bytes), stream));
  R3D_TRY(cuda_status(cub::DeviceScan::ExclusiveSum(scratch.get(), scratch_bytes, counts.get(),
                                                    bins->first.get(), num_bins + 1, stream)));
  R3D_TRY(cursor.allocate(num_bins, stream));
  R3D_TRY(cuda_status(cudaMemcpyAsync(cursor.get(), bins->first.get(), sizeof(int64_t) * num_bins,
                                      cudaMemcpyDeviceToDevice, stream)));
  R3D_TRY(bins->elems.allocate(entries, stream));
  return cuda_parallel_for(
      E, st, BinFillBody<BoxOf>{elements, bins->grid, cursor.get(), bins->elems.get()});
}

}  // namespace r3d
