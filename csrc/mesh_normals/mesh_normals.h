// Per-face bodies of mesh_face_areas_normals (forward and backward), shared by CPU and CUDA.
//
// For face f with corners v0, v1, v2 and n = (v1 - v0) x (v2 - v0):
//   area[f]   = |n| / 2
//   normal[f] = n / max(|n|, eps)
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "common/vec3.h"

namespace r3d {

template <typename T>
struct FaceAreasNormalsForward {
  const T* verts;        // (V, 3)
  const int64_t* faces;  // (F, 3)
  T* areas;              // (F,)
  T* normals;            // (F, 3)
  T eps;

  R3D_HD void operator()(int64_t f) const {
    const int64_t* face = faces + 3 * f;
    const Vec3<T> v0 = load3(verts + 3 * face[0]);
    const Vec3<T> n = cross(load3(verts + 3 * face[1]) - v0, load3(verts + 3 * face[2]) - v0);
    const T len = norm(n);
    areas[f] = len / T(2);
    store3(normals + 3 * f, n * (T(1) / (len > eps ? len : eps)));
  }
};

// Writes the gradient w.r.t. each face's three corners into grad_corners (F, 3, 3); the caller
// scatters it onto the vertices (index_add), which keeps this body free of atomics.
template <typename T>
struct FaceAreasNormalsBackward {
  const T* verts;         // (V, 3)
  const int64_t* faces;   // (F, 3)
  const T* grad_areas;    // (F,)
  const T* grad_normals;  // (F, 3)
  T* grad_corners;        // (F, 3, 3)
  T eps;

  R3D_HD void operator()(int64_t f) const {
    const int64_t* face = faces + 3 * f;
    const Vec3<T> v0 = load3(verts + 3 * face[0]);
    const Vec3<T> a = load3(verts + 3 * face[1]) - v0;
    const Vec3<T> b = load3(verts + 3 * face[2]) - v0;
    const Vec3<T> n = cross(a, b);
    const T len = norm(n);
    const Vec3<T> g_normal = load3(grad_normals + 3 * f);
    Vec3<T> g_n;
    if (len > eps) {
      // d(n/|n|) = (I - u u^T) / |n| with u = n / |n|
      const Vec3<T> u = n * (T(1) / len);
      g_n = (g_normal - u * dot(u, g_normal)) * (T(1) / len);
    } else {
      g_n = g_normal * (T(1) / eps);
    }
    if (len > T(0)) g_n = g_n + n * (grad_areas[f] / (T(2) * len));
    // n = a x b: dL/da = b x g_n, dL/db = g_n x a
    const Vec3<T> g_a = cross(b, g_n);
    const Vec3<T> g_b = cross(g_n, a);
    T* out = grad_corners + 9 * f;
    store3(out, (g_a + g_b) * T(-1));
    store3(out + 3, g_a);
    store3(out + 6, g_b);
  }
};

}  // namespace r3d
