// Launchers of rasterize_meshes. Shapes are documented in rasterize_meshes.h.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "rasterize_meshes/rasterize_meshes.h"

namespace r3d {

// bin_size: side of the square screen bins in pixels; 0 picks the bins from the image size, K and
// the faces' sizes (CPU: also the threads, rasterize_meshes_cpu.cpp's mesh_bin_shape, which may
// pick stripes as wide as the image). CPU: any side
// up to the image's (one bin: every pixel over its mesh's faces).
// CUDA (common/gpu_bins.h, gpu_bin_side): 8, 16 or 32 (bin_size rounded down to one of them), or
// the naive path (a thread per pixel over its mesh's faces) for a bin_size covering the image.
template <typename T>
Status rasterize_meshes_forward_cpu(const T* face_verts, const int64_t* face_first,
                                    const int64_t* face_count, RasterSettings s,
                                    int64_t bin_size, int64_t* pix_to_face, T* zbuf, T* bary,
                                    T* dists, int num_threads);
template <typename T>
Status rasterize_meshes_forward_cuda(const T* face_verts, const int64_t* face_first,
                                     const int64_t* face_count, RasterSettings s,
                                     int64_t bin_size, int64_t* pix_to_face, T* zbuf, T* bary,
                                     T* dists, uintptr_t stream);
// The CUDA launcher's schedule run on the host, one thread of a block after another, for tests
// on machines without a GPU (rasterize_meshes_emulate_cpu.cpp). Same arguments as the CPU
// launcher.
template <typename T>
Status rasterize_meshes_forward_emulated(const T* face_verts, const int64_t* face_first,
                                         const int64_t* face_count, RasterSettings s,
                                         int64_t bin_size, int64_t* pix_to_face, T* zbuf,
                                         T* bary, T* dists, int num_threads);

// grad_face_verts (F, 3, 3), zeroed by the caller: the gradient w.r.t. the corners of each face.
template <typename T>
Status rasterize_meshes_backward_cpu(const T* face_verts, const int64_t* pix_to_face,
                                     const T* grad_zbuf, const T* grad_bary, const T* grad_dists,
                                     RasterSettings s, int64_t num_faces, T* grad_face_verts,
                                     int num_threads);
template <typename T>
Status rasterize_meshes_backward_cuda(const T* face_verts, const int64_t* pix_to_face,
                                      const T* grad_zbuf, const T* grad_bary,
                                      const T* grad_dists, RasterSettings s, int64_t num_faces,
                                      T* grad_face_verts, uintptr_t stream);
template <typename T>
Status rasterize_meshes_backward_emulated(const T* face_verts, const int64_t* pix_to_face,
                                          const T* grad_zbuf, const T* grad_bary,
                                          const T* grad_dists, RasterSettings s,
                                          int64_t num_faces, T* grad_face_verts,
                                          int num_threads);

}  // namespace r3d
