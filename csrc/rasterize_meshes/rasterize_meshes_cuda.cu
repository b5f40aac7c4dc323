// CUDA launchers of rasterize_meshes.
//
// Forward in two passes: the coarse pass of common/gpu_bins.cuh files every visible face into
// every bin its blur-expanded box touches (nothing dropped), then the fine kernel of
// common/gpu_fine.cuh runs one block per bin, one thread per pixel (rasterize_meshes_fine.h).
// A bin_size covering the image asks for the naive path: one thread per pixel over its mesh's
// faces, with the box reject. Backward: one thread per pixel and slot; the lanes of a warp that
// hold the same face add their gradients (common/warp_sums.h) before one atomic add per face and
// warp.
#include <cuda_runtime.h>

#include "common/cuda_loop.cuh"
#include "common/gpu_bins.cuh"
#include "common/gpu_fine.cuh"
#include "rasterize_meshes/rasterize_meshes.h"
#include "rasterize_meshes/rasterize_meshes_fine.h"
#include "rasterize_meshes/rasterize_meshes_launchers.h"

namespace r3d {

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
  const MeshFineOp<T> op{FaceElements<T>{face_first, bins.offsets.get(), s.N, box_of},
                         GpuBinsView{bins.grid, bins.first.get(), bins.elems.get()}, s, out};
  return launch_gpu_fine(op, s.N * bins.grid.per_image(), s.K <= kLocalK, st);
}

template <typename T>
Status rasterize_meshes_backward_cuda(const T* face_verts, const int64_t* pix_to_face,
                                      const T* grad_zbuf, const T* grad_bary,
                                      const T* grad_dists, RasterSettings s,
                                      int64_t /*num_faces*/, T* grad_face_verts,
                                      uintptr_t stream) {
  return launch_warp_summed_backward<9>(
      RasterizeBackwardPixel<T>{face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists, s,
                                grad_face_verts},
      s.N * s.H * s.W, s.K, grad_face_verts, reinterpret_cast<cudaStream_t>(stream));
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
