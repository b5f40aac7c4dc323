// Per-pixel bodies of point compositing (PyTorch3D's alpha_composite, norm_weighted_sum and
// weighted_sum), forward and backward, shared by CPU and CUDA.
//
// Inputs: pointsidx (N, K, H, W) packed point index of each slot, -1 where empty; alphas
// (N, K, H, W); features (C, P). Output (N, C, H, W):
//   out[n, c, y, x] = sum_k w_k features[c, pointsidx[n, k, y, x]]
// over the non-empty slots k of the pixel (empty slots are skipped: no weight, no attenuation):
//   alpha composite:    w_k = a_k prod_{j < k} (1 - a_j)
//   norm weighted sum:  w_k = a_k / max(sum_j a_j, eps)
//   weighted sum:       w_k = a_k
//
// Layouts: the (N, X, H, W) tensors (pointsidx, alphas, out and their gradients) are either
// contiguous or "channels last", i.e. permuted views of contiguous (N, H, W, X) tensors, as a
// renderer produces them from (N, H, W, K) fragments; features (C, P) are either contiguous or a
// transposed contiguous (P, C) tensor. The launchers never copy to change layouts.
#pragma once

#include <cstdint>

#include "common/accumulate.h"
#include "common/macros.h"

namespace r3d {

enum CompositeMode : int { kAlphaComposite = 0, kNormWeightedSum = 1, kWeightedSum = 2 };

enum CompositeCode : int { kCompositeOk = 0, kCompositeBadIndex = 1 };

// Floor of norm_weighted_sum's denominator (PyTorch3D's).
constexpr double kCompositeEps = 1e-4;

struct CompositeShape {
  int64_t N, K, H, W;  // fragments
  int64_t C, P;        // features
  int mode;            // a CompositeMode
  bool channels_last;  // (N, X, H, W) tensors are laid out as (N, H, W, X)
  bool points_major;   // features (C, P) are laid out as (P, C)

  // Offset of element (x, pixel q = n * H * W + y * W + x) of an (N, X, H, W) tensor is
  // first(q, X) + x * step(X).
  R3D_HD int64_t first(int64_t q, int64_t X) const {
    if (channels_last) return q * X;
    const int64_t HW = H * W;
    return (q / HW) * X * HW + q % HW;
  }
  R3D_HD int64_t step(int64_t X) const { return channels_last ? 1 : H * W; }
  // Offset of features[c, i].
  R3D_HD int64_t feature(int64_t c, int64_t i) const {
    return points_major ? i * C + c : c * P + i;
  }
};

// The point of a slot, or -1 for an empty slot or one whose index is outside [-1, P) (which
// sets *bad).
R3D_HD inline int64_t slot_point(int64_t i, int64_t P, bool* bad) {
  if (i >= 0 && i < P) return i;
  if (i != -1) *bad = true;
  return -1;
}

template <typename T>
struct CompositeForward {
  const int64_t* pointsidx;  // (N, K, H, W)
  const T* alphas;           // (N, K, H, W)
  const T* features;         // (C, P)
  CompositeShape s;
  T* out;                    // (N, C, H, W)

  // Composites pixel q in [0, N * H * W); returns a CompositeCode.
  R3D_HD int operator()(int64_t q) const {
    const int64_t slot = s.first(q, s.K), slot_step = s.step(s.K);
    T* o = out + s.first(q, s.C);
    const int64_t o_step = s.step(s.C);
    for (int64_t c = 0; c < s.C; ++c) o[c * o_step] = T(0);
    bool bad = false;
    T scale = T(1);  // norm weighted sum: 1 / max(sum of alphas, eps)
    if (s.mode == kNormWeightedSum) {
      T total = T(0);
      for (int64_t k = 0; k < s.K; ++k) {
        const int64_t at = slot + k * slot_step;
        if (slot_point(pointsidx[at], s.P, &bad) >= 0) total += alphas[at];
      }
      scale = T(1) / (total >= T(kCompositeEps) ? total : T(kCompositeEps));
    }
    T transmittance = T(1);  // alpha composite: prod (1 - a_j) over the earlier slots
    for (int64_t k = 0; k < s.K; ++k) {
      const int64_t at = slot + k * slot_step;
      const int64_t i = slot_point(pointsidx[at], s.P, &bad);
      if (i < 0) continue;
      const T a = alphas[at];
      T w = a * scale;
      if (s.mode == kAlphaComposite) {
        w = a * transmittance;
        transmittance *= T(1) - a;
      }
      for (int64_t c = 0; c < s.C; ++c) o[c * o_step] += w * features[s.feature(c, i)];
    }
    return bad ? kCompositeBadIndex : kCompositeOk;
  }
};

// Backward of pixel q: writes the gradient w.r.t. the alphas of its slots (zero in empty slots)
// and adds each slot's contribution to the gradient w.r.t. its point's features. With
// g = grad_out[n, :, y, x] and G_k = <g, f_k>:
//   weighted sum:       dL/da_k = G_k
//   norm weighted sum:  dL/da_k = (G_k - [A >= eps] sum_j w_j G_j) / max(A, eps), A = sum_j a_j
//   alpha composite:    dL/da_k = T_k (G_k - S_k), T_k = prod_{j < k} (1 - a_j) and
//                       S_k = sum_{m > k} a_m G_m prod_{k < j < m} (1 - a_j), computed back to
//                       front as S_{k-1} = a_k G_k + (1 - a_k) S_k (no division by 1 - a_k)
// and dL/dfeatures[:, i_k] += w_k g. Indices outside [0, P) count as empty slots.
template <typename T>
struct CompositeBackward {
  const int64_t* pointsidx;  // (N, K, H, W)
  const T* alphas;           // (N, K, H, W)
  const T* features;         // (C, P)
  const T* grad_out;         // (N, C, H, W)
  CompositeShape s;
  T* grad_alphas;            // (N, K, H, W) or null
  T* grad_features;          // (C, P) added into (atomically on the GPU), or null

  // <grad_out[pixel], features[:, i]>
  R3D_HD T grad_dot(const T* g, int64_t g_step, int64_t i) const {
    T sum = T(0);
    for (int64_t c = 0; c < s.C; ++c) sum += g[c * g_step] * features[s.feature(c, i)];
    return sum;
  }

  R3D_HD void add_features(const T* g, int64_t g_step, int64_t i, T w) const {
    if (grad_features == nullptr) return;
    for (int64_t c = 0; c < s.C; ++c)
      accumulate(grad_features + s.feature(c, i), w * g[c * g_step]);
  }

  R3D_HD int64_t point(int64_t at) const {
    bool bad = false;
    return slot_point(pointsidx[at], s.P, &bad);
  }

  R3D_HD void operator()(int64_t q) const {
    const int64_t slot = s.first(q, s.K), slot_step = s.step(s.K);
    const T* g = grad_out + s.first(q, s.C);
    const int64_t g_step = s.step(s.C);
    if (s.mode == kWeightedSum) {
      for (int64_t k = 0; k < s.K; ++k) {
        const int64_t at = slot + k * slot_step, i = point(at);
        if (grad_alphas) grad_alphas[at] = i < 0 ? T(0) : grad_dot(g, g_step, i);
        if (i >= 0) add_features(g, g_step, i, alphas[at]);
      }
    } else if (s.mode == kNormWeightedSum) {
      T total = T(0);
      for (int64_t k = 0; k < s.K; ++k) {
        const int64_t at = slot + k * slot_step;
        if (point(at) >= 0) total += alphas[at];
      }
      const bool clamped = total < T(kCompositeEps);
      const T scale = T(1) / (clamped ? T(kCompositeEps) : total);
      T out_dot = T(0);  // <g, out>; grad_alphas holds G_k meanwhile
      for (int64_t k = 0; k < s.K; ++k) {
        const int64_t at = slot + k * slot_step, i = point(at);
        if (i < 0) continue;
        add_features(g, g_step, i, alphas[at] * scale);
        if (grad_alphas) {
          grad_alphas[at] = grad_dot(g, g_step, i);
          out_dot += alphas[at] * scale * grad_alphas[at];
        }
      }
      if (grad_alphas) {
        if (clamped) out_dot = T(0);
        for (int64_t k = 0; k < s.K; ++k) {
          const int64_t at = slot + k * slot_step;
          grad_alphas[at] = point(at) < 0 ? T(0) : (grad_alphas[at] - out_dot) * scale;
        }
      }
    } else {
      T transmittance = T(1);  // front to back; grad_alphas holds T_k meanwhile
      for (int64_t k = 0; k < s.K; ++k) {
        const int64_t at = slot + k * slot_step, i = point(at);
        if (i < 0) continue;
        add_features(g, g_step, i, alphas[at] * transmittance);
        if (grad_alphas) grad_alphas[at] = transmittance;
        transmittance *= T(1) - alphas[at];
      }
      if (grad_alphas) {
        T behind = T(0);  // S_k
        for (int64_t k = s.K - 1; k >= 0; --k) {
          const int64_t at = slot + k * slot_step, i = point(at);
          if (i < 0) {
            grad_alphas[at] = T(0);
            continue;
          }
          const T a = alphas[at], G = grad_dot(g, g_step, i);
          grad_alphas[at] *= G - behind;
          behind = a * G + (T(1) - a) * behind;
        }
      }
    }
  }
};

}  // namespace r3d
