// The CUDA launchers of rasterize_meshes run on the host (common/gpu_emulate.h), for tests on
// machines without a GPU.
#include <new>

#include "common/cpu_loop.h"
#include "common/gpu_emulate.h"
#include "rasterize_meshes/rasterize_meshes.h"
#include "rasterize_meshes/rasterize_meshes_fine.h"
#include "rasterize_meshes/rasterize_meshes_launchers.h"

namespace r3d {

template <typename T>
Status rasterize_meshes_forward_emulated(const T* face_verts, const int64_t* face_first,
                                         const int64_t* face_count, RasterSettings s,
                                         int64_t bin_size, int64_t* pix_to_face, T* zbuf,
                                         T* bary, T* dists, int num_threads) {
  if (s.N * s.H * s.W == 0) return Status::ok();
  const RasterOut<T> out{pix_to_face, zbuf, bary, dists};
  const FaceBoxOf<T> box_of{face_verts, s};
  try {
    const EmulatedBins bins =
        emulate_gpu_bins(face_first, face_count, s.N, s.H, s.W, bin_size, box_of);
    if (bins.grid.B == 0) {
      parallel_for(s.N * s.H * s.W, 1, num_threads,
                   RasterizePixelNaive<T>{face_verts, face_first, face_count, s, out});
      return Status::ok();
    }
    const MeshFineOp<T> op{FaceElements<T>{face_first, bins.offsets.data(), s.N, box_of},
                           bins.view(), s, out};
    emulate_gpu_fine(op, s.N * bins.grid.per_image(), s.K <= kLocalK, num_threads);
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory emulating the CUDA rasterize_meshes");
  }
  return Status::ok();
}

template <typename T>
Status rasterize_meshes_backward_emulated(const T* face_verts, const int64_t* pix_to_face,
                                          const T* grad_zbuf, const T* grad_bary,
                                          const T* grad_dists, RasterSettings s,
                                          int64_t /*num_faces*/, T* grad_face_verts,
                                          int /*num_threads*/) {
  emulate_warp_summed_backward<9>(
      RasterizeBackwardPixel<T>{face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists, s,
                                grad_face_verts},
      s.N * s.H * s.W, s.K, grad_face_verts);
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                    \
  template Status rasterize_meshes_forward_emulated<T>(const T*, const int64_t*,             \
                                                       const int64_t*, RasterSettings,        \
                                                       int64_t, int64_t*, T*, T*, T*, int);  \
  template Status rasterize_meshes_backward_emulated<T>(const T*, const int64_t*, const T*,  \
                                                        const T*, const T*, RasterSettings,   \
                                                        int64_t, T*, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
