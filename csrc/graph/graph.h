// Per-element bodies of the graph and mesh-regulariser kernels, shared by CPU and CUDA.
//
// Scatter-adds are written without atomics: a kernel that would add into vertex rows instead
// writes one row per (element, corner), and CsrGatherSum sums those rows per vertex through a
// CSR grouping (ptr, col) built once per call.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "common/vec3.h"

namespace r3d {

// out[i, :] = sum of x[col[k], :] for k in [ptr[i], ptr[i + 1]).
template <typename T>
struct CsrGatherSum {
  const T* x;            // (R, D)
  const int64_t* ptr;    // (V + 1,), non-decreasing, ptr[0] = 0
  const int64_t* col;    // (ptr[V],) rows of x
  int64_t D;
  T* out;                // (V, D)

  R3D_HD void operator()(int64_t i) const {
    T* o = out + i * D;
    for (int64_t d = 0; d < D; ++d) o[d] = T(0);
    for (int64_t k = ptr[i]; k < ptr[i + 1]; ++k) {
      const T* row = x + col[k] * D;
      for (int64_t d = 0; d < D; ++d) o[d] += row[d];
    }
  }
};

// mesh_edge_loss, per edge e = (a, b): out[e] = (|v_a - v_b| - target)^2.
template <typename T>
struct EdgeLossForward {
  const T* verts;         // (V, 3)
  const int64_t* edges;   // (E, 2)
  T target;
  T* out;                 // (E,)

  R3D_HD void operator()(int64_t e) const {
    const T len = norm(load3(verts + 3 * edges[2 * e]) - load3(verts + 3 * edges[2 * e + 1]));
    out[e] = (len - target) * (len - target);
  }
};

// Gradient of EdgeLossForward w.r.t. both ends of each edge, (E, 2, 3); zero for a zero-length
// edge (where the length is not differentiable).
template <typename T>
struct EdgeLossBackward {
  const T* verts;         // (V, 3)
  const int64_t* edges;   // (E, 2)
  const T* grad;          // (E,)
  T target;
  T* grad_corners;        // (E, 2, 3)

  R3D_HD void operator()(int64_t e) const {
    const Vec3<T> d = load3(verts + 3 * edges[2 * e]) - load3(verts + 3 * edges[2 * e + 1]);
    const T len = norm(d);
    const T coef = len > T(0) ? grad[e] * T(2) * (len - target) / len : T(0);
    store3(grad_corners + 6 * e, d * coef);
    store3(grad_corners + 6 * e + 3, d * (-coef));
  }
};

// mesh_normal_consistency's pairs, per edge e: every pair (i < j) of the faces on it, written
// from pair_first[e] on as (v0, v1, a, b): the edge's ends and the two faces' third corners.
struct FacePairs {
  const int64_t* edges;       // (E, 2)
  const int64_t* ptr;         // (E + 1,) runs of the face-edge incidences of each edge in order
  const int64_t* order;       // (M,) incidences grouped by edge
  const int64_t* corners;     // (M,) the corner of each incidence's face opposite its edge
  const int64_t* pair_first;  // (E,) first pair of each edge
  int64_t* quads;             // (P, 4)
  int64_t* pair_edge;         // (P,) the edge of each pair

  R3D_HD void operator()(int64_t e) const {
    int64_t p = pair_first[e];
    for (int64_t i = ptr[e]; i < ptr[e + 1]; ++i) {
      for (int64_t j = i + 1; j < ptr[e + 1]; ++j, ++p) {
        int64_t* q = quads + 4 * p;
        q[0] = edges[2 * e];
        q[1] = edges[2 * e + 1];
        q[2] = corners[order[i]];
        q[3] = corners[order[j]];
        pair_edge[p] = e;
      }
    }
  }
};

// mesh_normal_consistency, per pair of faces sharing the edge (v0, v1), with third corners a
// and b: n0 = (v1 - v0) x (a - v0), n1 = (b - v0) x (v1 - v0) and out = 1 - cos(n0, n1), where
// cos = n0.n1 / (max(|n0|, eps) max(|n1|, eps)).
template <typename T>
struct NormalConsistencyForward {
  const T* verts;         // (V, 3)
  const int64_t* quads;   // (P, 4): v0, v1, a, b
  T eps;
  T* out;                 // (P,)

  R3D_HD void operator()(int64_t p) const {
    const int64_t* q = quads + 4 * p;
    const Vec3<T> v0 = load3(verts + 3 * q[0]);
    const Vec3<T> e = load3(verts + 3 * q[1]) - v0;
    const Vec3<T> n0 = cross(e, load3(verts + 3 * q[2]) - v0);
    const Vec3<T> n1 = cross(load3(verts + 3 * q[3]) - v0, e);
    const T l0 = norm(n0), l1 = norm(n1);
    out[p] = T(1) - dot(n0, n1) / ((l0 > eps ? l0 : eps) * (l1 > eps ? l1 : eps));
  }
};

// Gradient of NormalConsistencyForward w.r.t. the pair's corners v0, v1, a, b: (P, 4, 3).
template <typename T>
struct NormalConsistencyBackward {
  const T* verts;         // (V, 3)
  const int64_t* quads;   // (P, 4)
  const T* grad;          // (P,)
  T eps;
  T* grad_corners;        // (P, 4, 3)

  // d cos / d n for the normal n of length len (clamped to eps) and the other unit normal u.
  R3D_HD static Vec3<T> dcos(const Vec3<T>& n, T len, const Vec3<T>& u, T eps) {
    if (len <= eps) return u * (T(1) / eps);
    const Vec3<T> un = n * (T(1) / len);
    return (u - un * dot(un, u)) * (T(1) / len);
  }

  R3D_HD void operator()(int64_t p) const {
    const int64_t* q = quads + 4 * p;
    const Vec3<T> v0 = load3(verts + 3 * q[0]);
    const Vec3<T> e = load3(verts + 3 * q[1]) - v0;
    const Vec3<T> pa = load3(verts + 3 * q[2]) - v0;
    const Vec3<T> pb = load3(verts + 3 * q[3]) - v0;
    const Vec3<T> n0 = cross(e, pa);
    const Vec3<T> n1 = cross(pb, e);
    const T l0 = norm(n0), l1 = norm(n1);
    const Vec3<T> u0 = n0 * (T(1) / (l0 > eps ? l0 : eps));
    const Vec3<T> u1 = n1 * (T(1) / (l1 > eps ? l1 : eps));
    // out = 1 - cos: its gradients w.r.t. n0 and n1
    const Vec3<T> g0 = dcos(n0, l0, u1, eps) * (-grad[p]);
    const Vec3<T> g1 = dcos(n1, l1, u0, eps) * (-grad[p]);
    // n = x cross y: dL/dx = y cross g, dL/dy = g cross x
    const Vec3<T> g_e = cross(pa, g0) + cross(g1, pb);
    const Vec3<T> g_a = cross(g0, e);
    const Vec3<T> g_b = cross(e, g1);
    T* out = grad_corners + 12 * p;
    store3(out, (g_e + g_a + g_b) * T(-1));
    store3(out + 3, g_e);
    store3(out + 6, g_a);
    store3(out + 9, g_b);
  }
};

}  // namespace r3d
