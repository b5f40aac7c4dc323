// Per-element bodies of interpolate_face_attributes (forward and backward), shared by CPU and
// CUDA. An element is one (pixel, k) slot of a fragment buffer:
//   out[p, d] = sum_j bary[p, j] * attrs[f, j, d]   with f = pix_to_face[p], 0 where f < 0.
// Bodies check f themselves (the index tensor is as large as the image, so a separate range
// check would cost as much as the op) and return a code; the launchers report the largest.
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace r3d {

enum InterpCode : int { kInterpOk = 0, kInterpNonFinite = 1, kInterpBadFace = 2 };

struct InterpShape {
  int64_t P;  // slots: N * H * W * K
  int64_t F;  // faces
  int64_t D;  // attribute channels
};

// 1 for a finite x, 0 for NaN or +-inf (x - x is NaN for both), without <cmath> overloads.
template <typename T>
R3D_HD inline bool is_finite(T x) {
  return x - x == T(0);
}

// The face of slot p, or -1 for an empty slot; *code is set when pix_to_face is out of range.
R3D_HD inline int64_t slot_face(const int64_t* pix_to_face, int64_t p, int64_t F, int* code) {
  const int64_t f = pix_to_face[p];
  if (f >= F || f < -1) {
    *code = kInterpBadFace;
    return -1;
  }
  return f;
}

template <typename T>
struct InterpFaceAttrsForward {
  const int64_t* pix_to_face;  // (P,)
  const T* bary;               // (P, 3)
  const T* attrs;              // (F, 3, D)
  InterpShape s;
  T* out;                      // (P, D)

  R3D_HD int operator()(int64_t p) const {
    int code = kInterpOk;
    const int64_t f = slot_face(pix_to_face, p, s.F, &code);
    T* o = out + p * s.D;
    if (f < 0) {
      for (int64_t d = 0; d < s.D; ++d) o[d] = T(0);
      return code;
    }
    const T w0 = bary[3 * p], w1 = bary[3 * p + 1], w2 = bary[3 * p + 2];
    const T* a = attrs + f * 3 * s.D;
    for (int64_t d = 0; d < s.D; ++d) {
      const T v = w0 * a[d] + w1 * a[s.D + d] + w2 * a[2 * s.D + d];
      o[d] = v;
      if (!is_finite(v)) code = kInterpNonFinite;
    }
    return code;
  }
};

// Gradients of one slot: w.r.t. its barycentric coordinates, and its contribution to the
// gradient of its face's attributes (which the caller scatters with index_add, so no atomics).
// Either output may be null when that gradient is not needed.
template <typename T>
struct InterpFaceAttrsBackward {
  const int64_t* pix_to_face;  // (P,)
  const T* bary;               // (P, 3)
  const T* attrs;              // (F, 3, D)
  const T* grad_out;           // (P, D)
  InterpShape s;
  T* grad_bary;                // (P, 3) or null
  T* grad_attrs_per_slot;      // (P, 3, D) or null

  R3D_HD int operator()(int64_t p) const {
    int code = kInterpOk;
    const int64_t f = slot_face(pix_to_face, p, s.F, &code);
    const T* g = grad_out + p * s.D;
    for (int j = 0; j < 3; ++j) {
      const T w = f < 0 ? T(0) : bary[3 * p + j];
      const T* a = attrs + (f < 0 ? 0 : f * 3 + j) * s.D;
      T gb = T(0);
      T* ga = grad_attrs_per_slot ? grad_attrs_per_slot + (3 * p + j) * s.D : nullptr;
      for (int64_t d = 0; d < s.D; ++d) {
        if (f >= 0) gb += g[d] * a[d];
        if (ga) ga[d] = w * g[d];
      }
      if (grad_bary) grad_bary[3 * p + j] = gb;
    }
    return code;
  }
};

}  // namespace r3d
