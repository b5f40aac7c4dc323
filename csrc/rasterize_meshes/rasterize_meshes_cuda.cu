// CUDA launchers of rasterize_meshes: the naive per-pixel body and the per-pixel backward of
// rasterize_meshes.h, one thread per pixel.
#include "common/cuda_loop.cuh"
#include "rasterize_meshes/rasterize_meshes.h"
#include "rasterize_meshes/rasterize_meshes_launchers.h"

namespace r3d {

template <typename T>
Status rasterize_meshes_forward_cuda(const T* face_verts, const int64_t* face_first,
                                     const int64_t* face_count, RasterSettings s,
                                     int64_t* pix_to_face, T* zbuf, T* bary, T* dists,
                                     uintptr_t stream) {
  return cuda_parallel_for(
      s.N * s.H * s.W, stream,
      RasterizePixelNaive<T>{face_verts, face_first, face_count, s, pix_to_face, zbuf, bary,
                             dists});
}

template <typename T>
Status rasterize_meshes_backward_cuda(const T* face_verts, const int64_t* pix_to_face,
                                      const T* grad_zbuf, const T* grad_bary,
                                      const T* grad_dists, RasterSettings s,
                                      int64_t /*num_faces*/, T* grad_face_verts,
                                      uintptr_t stream) {
  return cuda_parallel_for(
      s.N * s.H * s.W, stream,
      RasterizeBackwardPixel<T>{face_verts, pix_to_face, grad_zbuf, grad_bary, grad_dists, s,
                                grad_face_verts});
}

#define R3D_INSTANTIATE(T)                                                                    \
  template Status rasterize_meshes_forward_cuda<T>(const T*, const int64_t*, const int64_t*,  \
                                                   RasterSettings, int64_t*, T*, T*, T*,      \
                                                   uintptr_t);                                \
  template Status rasterize_meshes_backward_cuda<T>(const T*, const int64_t*, const T*,       \
                                                    const T*, const T*, RasterSettings,       \
                                                    int64_t, T*, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
