// CUDA launchers of rasterize_meshes.
//
// Forward in two passes: the coarse pass of common/gpu_bins.cuh files every visible face into
// every bin its blur-expanded box touches (nothing dropped), then the fine kernel runs one block
// per bin, one thread per pixel (rasterize_meshes_fine.h). A bin_size covering the image asks
// for the naive path: one thread per pixel over its mesh's faces, with the box reject.
// Backward: one thread per pixel and slot; the lanes of a warp that hold the same face add their
// gradients (common/warp_sums.h) before one atomic add per face and warp.
#include <cuda_runtime.h>

#include "common/cuda_loop.cuh"
#include "common/gpu_bins.cuh"
#include "common/warp_sums.h"
#include "rasterize_meshes/rasterize_meshes.h"
#include "rasterize_meshes/rasterize_meshes_fine.h"
#include "rasterize_meshes/rasterize_meshes_launchers.h"

namespace r3d {

namespace {

// The block of bin blockIdx.x: a thread per pixel (Threads = B * B, which bounds the registers a
// thread may use); the bin's faces staged chunk by chunk.
template <typename T, bool Local, int Threads>
__global__ void __launch_bounds__(Threads) fine_kernel(FineInputs<T> in, RasterSettings s, RasterOut<T> out) {
  extern __shared__ unsigned char shared_bytes[];
  StagedFace<T>* staged = reinterpret_cast<StagedFace<T>*>(shared_bytes);
  const int64_t b = blockIdx.x;
  FinePixel<T, Local> pixel(in.grid, b, threadIdx.x, s);
  const int64_t begin = in.bin_first[b], end = in.bin_first[b + 1];
  for (int64_t c = begin; c < end; c += kStageChunk) {
    const int m = static_cast<int>(end - c < kStageChunk ? end - c : kStageChunk);
    __syncthreads();  // the previous chunk is done with
    for (int i = threadIdx.x; i < m; i += blockDim.x)
      staged[i] = stage_face(in.elements, in.elems[c + i]);
    __syncthreads();
    if (pixel.active)
      for (int i = 0; i < m; ++i) pixel.test(staged[i], s, out);
  }
  if (pixel.active) pixel.write(s, out);
}

template <typename T, int Threads>
void launch_fine(bool local, int64_t num_bins, const FineInputs<T>& in, const RasterSettings& s,
                 const RasterOut<T>& out, cudaStream_t stream) {
  const size_t shared = sizeof(StagedFace<T>) * kStageChunk;
  if (local) fine_kernel<T, true, Threads><<<num_bins, Threads, shared, stream>>>(in, s, out);
  else fine_kernel<T, false, Threads><<<num_bins, Threads, shared, stream>>>(in, s, out);
}

template <typename T>
__global__ void backward_kernel(RasterizeBackwardPixel<T> body, int64_t num_pixels) {
  const int lane = threadIdx.x & 31;
  const int64_t stride = static_cast<int64_t>(blockDim.x) * gridDim.x;
  // warp-uniform loop: every lane of a warp runs every iteration (the shuffles need them all)
  for (int64_t base = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x - lane;
       base < num_pixels; base += stride) {
    const int64_t q = base + lane;
    for (int64_t k = 0; k < body.s.K; ++k) {
      T g[9] = {};
      const int64_t f = q < num_pixels ? body.slot_gradient(q, k, g) : -1;
      const uint32_t peers = __match_any_sync(0xffffffffu, static_cast<unsigned long long>(f));
      const int rank = peer_rank(peers, lane), size = popcount32(peers);
      for (int step = 1; __any_sync(0xffffffffu, step < size); step *= 2) {
        const int src = peer_source(peers, rank, step);
        for (int i = 0; i < 9; ++i) {
          const T other = __shfl_sync(0xffffffffu, g[i], src < 0 ? lane : src);
          if (src >= 0) g[i] += other;
        }
      }
      if (rank == 0 && f >= 0)
        for (int i = 0; i < 9; ++i) atomicAdd(body.grad_face_verts + 9 * f + i, g[i]);
    }
  }
}

}  // namespace

template <typename T>
Status rasterize_meshes_forward_cuda(const T* face_verts, const int64_t* face_first,
                                     const int64_t* face_count, RasterSettings s,
                                     int64_t bin_size, int64_t* pix_to_face, T* zbuf, T* bary,
                                     T* dists, uintptr_t stream) {
  if (s.N * s.H * s.W == 0) return Status::ok();
  const cudaStream_t st = reinterpret_cast<cudaStream_t>(stream);
  const RasterOut<T> out{pix_to_face, zbuf, bary, dists};
  GpuBins bins;
  const FaceBoxOf<T> box_of{face_verts, s};
  R3D_TRY(gpu_bin_elements(face_first, face_count, s.N, s.H, s.W, bin_size, box_of, st, &bins));
  if (bins.grid.B == 0)
    return cuda_parallel_for(s.N * s.H * s.W, stream,
                             RasterizePixelNaive<T>{face_verts, face_first, face_count, s, out});
  const FineInputs<T> in{FaceElements<T>{face_first, bins.offsets.get(), s.N, box_of}, bins.grid,
                         bins.first.get(), bins.elems.get()};
  const int64_t num_bins = s.N * bins.grid.per_image();
  const bool local = s.K <= kLocalK;
  switch (bins.grid.B) {
    case 8: launch_fine<T, 64>(local, num_bins, in, s, out, st); break;
    case 16: launch_fine<T, 256>(local, num_bins, in, s, out, st); break;
    default: launch_fine<T, 1024>(local, num_bins, in, s, out, st);
  }
  return cuda_status(cudaGetLastError());
}

template <typename T>
Status rasterize_meshes_backward_cuda(const T* face_verts, const int64_t* pix_to_face,
                                      const T* grad_zbuf, const T* grad_bary,
                                      const T* grad_dists, RasterSettings s,
                                      int64_t /*num_faces*/, T* grad_face_verts,
                                      uintptr_t stream) {
  const int64_t num_pixels = s.N * s.H * s.W;
  if (num_pixels == 0) return Status::ok();
  const int threads = 256;
  const int64_t blocks = (num_pixels + threads - 1) / threads;
  backward_kernel<T><<<static_cast<int>(blocks < 65535 ? blocks : 65535), threads, 0,
                       reinterpret_cast<cudaStream_t>(stream)>>>(
      RasterizeBackwardPixel<T>{face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists, s,
                                grad_face_verts},
      num_pixels);
  return cuda_status(cudaGetLastError());
}

#define R3D_INSTANTIATE(T)                                                                    \
  template Status rasterize_meshes_forward_cuda<T>(const T*, const int64_t*, const int64_t*,  \
                                                   RasterSettings, int64_t, int64_t*, T*, T*, \
                                                   T*, uintptr_t);                            \
  template Status rasterize_meshes_backward_cuda<T>(const T*, const int64_t*, const T*,       \
                                                    const T*, const T*, RasterSettings,       \
                                                    int64_t, T*, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
