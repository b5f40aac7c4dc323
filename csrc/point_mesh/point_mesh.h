// Per-element bodies of the point <-> mesh distances (forward and backward), shared by CPU and
// CUDA.
//
// A *primitive* has K corners: K = 3 for triangles, K = 2 for segments. Points (P, 3) and
// primitives (S, K, 3) are packed batches cut into N items by points_first (N,) and
// prims_first (N,). A query (a point, or a primitive) is matched with the nearest element of the
// other set in the same item (by searched_distance: the exact distance, kept from rounding below
// the bound of the boxes), the lowest packed index among equally near ones:
//   dists[q] = squared distance of the pair, idx[q] = packed index of the match,
//   or +inf and -1 when the other set of the item is empty.
// Both launchers search a bounding-volume hierarchy per item, the CPU's built on the host
// (aabb_tree.h), CUDA's on the GPU (lbvh.h), with the distance of NearestForward below, the same
// box bounds and the same tie rule, so both give the same results.
//
// Distance of a point p to a triangle (the semantics of PyTorch3D's point_mesh distances): when
// the triangle's area is at least min_area and the projection of p onto its plane falls inside
// it, the squared distance to that projection (|p - c|^2, c the convex combination of the corners
// at the projection's barycentric coordinates); otherwise the smallest squared distance to its
// three edges (so triangles smaller than min_area count as their edges only). A segment shorter
// than sqrt(kSegmentEps) counts as its first corner.
#pragma once

#include <cstdint>
#include <limits>

#include "common/macros.h"
#include "common/vec3.h"

namespace r3d {

constexpr double kSegmentEps = 1e-8;  // squared length below which a segment is a point
constexpr double kNormalEps = 1e-8;   // |n| below which a triangle has no plane

// Squared distance of p to the segment (a, b); *t is the position of the closest point,
// a + t (b - a), with t in [0, 1].
template <typename T>
R3D_HD inline T closest_on_segment(const Vec3<T>& p, const Vec3<T>& a, const Vec3<T>& b, T* t) {
  const Vec3<T> d = b - a;
  const Vec3<T> ap = p - a;
  const T len2 = dot(d, d);
  T s = len2 < T(kSegmentEps) ? T(0) : dot(ap, d) / len2;
  s = s < T(0) ? T(0) : (s > T(1) ? T(1) : s);
  *t = s;
  const Vec3<T> r = ap - d * s;
  return dot(r, r);
}

// The point sum_k w[k] c[k] of the primitive with corners c (K x 3 values).
template <typename T, int K>
R3D_HD inline Vec3<T> weighted_point(const T* c, const T* w) {
  Vec3<T> r = load3(c) * w[0];
  for (int k = 1; k < K; ++k) r = r + load3(c + 3 * k) * w[k];
  return r;
}

// Squared distance of p to the primitive with corners c (K x 3 values); w[k] receives the weight
// of corner k in the closest point, sum_k w[k] c[k].
template <typename T, int K>
struct Closest;

template <typename T>
struct Closest<T, 2> {
  R3D_HD static T eval(const Vec3<T>& p, const T* c, T /*min_area*/, T* w) {
    T t;
    const T d = closest_on_segment(p, load3(c), load3(c + 3), &t);
    w[0] = T(1) - t;
    w[1] = t;
    return d;
  }
};

template <typename T>
struct Closest<T, 3> {
  R3D_HD static T eval(const Vec3<T>& p, const T* c, T min_area, T* w) {
    const Vec3<T> v0 = load3(c), v1 = load3(c + 3), v2 = load3(c + 6);
    const Vec3<T> e1 = v1 - v0, e2 = v2 - v0, vp = p - v0;
    const Vec3<T> n = cross(e1, e2);
    const T n2 = dot(n, n);  // |n|^2 = (2 area)^2
    if (n2 > T(kNormalEps * kNormalEps) && n2 >= T(4) * min_area * min_area) {
      // barycentric coordinates of the projection of p onto the plane
      const T d11 = dot(e1, e1), d12 = dot(e1, e2), d22 = dot(e2, e2);
      const T p1 = dot(vp, e1), p2 = dot(vp, e2);
      const T b1 = (d22 * p1 - d12 * p2) / n2;
      const T b2 = (d11 * p2 - d12 * p1) / n2;
      const T b0 = T(1) - b1 - b2;
      if (b0 >= T(0) && b1 >= T(0) && b2 >= T(0) && b0 <= T(1) && b1 <= T(1) && b2 <= T(1)) {
        w[0] = b0;
        w[1] = b1;
        w[2] = b2;
        // |p - c|^2 for the projection c, a convex combination of the corners (rather than the
        // plane distance (vp . n)^2 / |n|^2, the same up to rounding): even for a sliver whose
        // barycentric coordinates are all rounding, the distance stays that of a point of the
        // triangle, never below the distance to its box, which the searches prune by
        const Vec3<T> r = p - weighted_point<T, 3>(c, w);
        return dot(r, r);
      }
    }
    // the nearest of the edges (v0, v1), (v0, v2), (v1, v2); the first one on ties
    T t01, t02, t12;
    const T d01 = closest_on_segment(p, v0, v1, &t01);
    const T d02 = closest_on_segment(p, v0, v2, &t02);
    const T d12 = closest_on_segment(p, v1, v2, &t12);
    if (d01 <= d02 && d01 <= d12) {
      w[0] = T(1) - t01, w[1] = t01, w[2] = T(0);
      return d01;
    }
    if (d02 <= d12) {
      w[0] = T(1) - t02, w[1] = T(0), w[2] = t02;
      return d02;
    }
    w[0] = T(0), w[1] = T(1) - t12, w[2] = t12;
    return d12;
  }
};

// Axis-aligned bounding box.
template <typename T>
struct Box {
  Vec3<T> lo, hi;
};

template <typename T>
R3D_HD inline T min2(T a, T b) { return a < b ? a : b; }
template <typename T>
R3D_HD inline T max2(T a, T b) { return a > b ? a : b; }

// The smallest box holding a and b.
template <typename T>
R3D_HD inline Box<T> merge(const Box<T>& a, const Box<T>& b) {
  return Box<T>{Vec3<T>{min2(a.lo.x, b.lo.x), min2(a.lo.y, b.lo.y), min2(a.lo.z, b.lo.z)},
                Vec3<T>{max2(a.hi.x, b.hi.x), max2(a.hi.y, b.hi.y), max2(a.hi.z, b.hi.z)}};
}

// The box of K corners (K = 1: a point).
template <typename T, int K>
R3D_HD inline Box<T> box_of(const T* c) {
  Box<T> b{load3(c), load3(c)};
  for (int k = 1; k < K; ++k) b = merge(b, Box<T>{load3(c + 3 * k), load3(c + 3 * k)});
  return b;
}

// Squared distance between two boxes: a lower bound of the distance between anything inside
// them.
template <typename T>
R3D_HD inline T box_distance(const Box<T>& a, const Box<T>& b) {
  const T dx = max2(max2(a.lo.x - b.hi.x, b.lo.x - a.hi.x), T(0));
  const T dy = max2(max2(a.lo.y - b.hi.y, b.lo.y - a.hi.y), T(0));
  const T dz = max2(max2(a.lo.z - b.hi.z, b.lo.z - a.hi.z), T(0));
  return dx * dx + dy * dy + dz * dz;
}

// The distance the searches rank a candidate by: its exact distance, raised to its box bound
// (box_distance of its box and the query's) where rounding put it below that bound (by an ulp or
// so, e.g. when the closest point is a corner that sets the box). So a box strictly farther than
// the best so far never holds a candidate as near or nearer: pruning by boxes is exact, and any
// search order finds the nearest, lowest index among ties, as a brute-force scan would.
template <typename T>
R3D_HD inline T searched_distance(T exact, T bound) {
  return exact < bound ? bound : exact;
}

// The item of packed element i: the last b with first[b] <= i (skips empty items).
R3D_HD inline int64_t item_of(const int64_t* first, int64_t num_items, int64_t i) {
  int64_t lo = 0, hi = num_items - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (first[mid] <= i) lo = mid; else hi = mid - 1;
  }
  return lo;
}

template <typename T>
struct PointMeshForwardArgs {
  const T* points;              // (P, 3)
  const int64_t* points_first;  // (N,)
  int64_t num_points;           // P
  const T* prims;               // (S, K, 3)
  const int64_t* prims_first;   // (N,)
  int64_t num_prims;            // S
  int64_t num_items;            // N >= 1
  T min_area;
  T* dists;                     // (P,) for point queries, else (S,)
  int64_t* idx;                 // like dists
};

// The end of item n's elements in a packed set of `total` elements cut by first (N,).
R3D_HD inline int64_t item_end(const int64_t* first, int64_t num_items, int64_t total, int64_t n) {
  return n + 1 < num_items ? first[n + 1] : total;
}

// The forward of one primitive kind and query side: query q is a point when PointQueries, else a
// primitive; its candidates are the elements of the other side in its item. The launchers search
// the candidates pruning by boxes, rank them by searched_distance of the distance below and keep
// the lowest index among the nearest: the CPU through a tree per item (aabb_tree.h), CUDA through
// a tree per item built on the GPU (lbvh.h).
template <typename T, int K, bool PointQueries>
struct NearestForward {
  using Scalar = T;
  static constexpr int kCorners = K;
  static constexpr bool kPointQueries = PointQueries;
  // corners of a query and of a candidate: 1 for a point, K for a primitive
  static constexpr int kQueryCorners = PointQueries ? 1 : K;
  static constexpr int kCandidateCorners = PointQueries ? K : 1;
  PointMeshForwardArgs<T> a;

  R3D_HD const T* queries() const { return PointQueries ? a.points : a.prims; }
  R3D_HD const T* candidates() const { return PointQueries ? a.prims : a.points; }
  R3D_HD const int64_t* q_first() const { return PointQueries ? a.points_first : a.prims_first; }
  R3D_HD const int64_t* c_first() const { return PointQueries ? a.prims_first : a.points_first; }
  R3D_HD int64_t num_queries() const { return PointQueries ? a.num_points : a.num_prims; }
  R3D_HD int64_t num_candidates() const { return PointQueries ? a.num_prims : a.num_points; }
  // corners of query q, of candidate j
  R3D_HD const T* query(int64_t q) const { return queries() + 3 * kQueryCorners * q; }
  R3D_HD const T* candidate(int64_t j) const { return candidates() + 3 * kCandidateCorners * j; }

  // Squared distance of query q to candidate j.
  R3D_HD T distance(int64_t q, int64_t j) const {
    T w[K];
    return PointQueries ? Closest<T, K>::eval(load3(query(q)), candidate(j), a.min_area, w)
                        : Closest<T, K>::eval(load3(candidate(j)), query(q), a.min_area, w);
  }
};

template <typename T>
struct PointMeshBackwardArgs {
  const T* points;        // (P, 3)
  const T* prims;         // (S, K, 3)
  const int64_t* idx;     // (E,) the forward's matches, -1 for none
  const T* grad_dists;    // (E,)
  T min_area;
  T* grad_points;         // (E, 3): gradient w.r.t. the point of pair e
  T* grad_prims;          // (E, K, 3): gradient w.r.t. the corners of the primitive of pair e
};

// Backward body: the gradient of |p - c|^2 (c the closest point, sum_k w_k v_k) is 2 (p - c)
// w.r.t. p and -2 w_k (p - c) w.r.t. corner k. The caller scatters the per-pair gradients onto
// the points and primitives (index_add), which keeps this body free of atomics.
template <typename T, int K, bool PointQueries>
struct NearestBackward {
  PointMeshBackwardArgs<T> a;

  R3D_HD void operator()(int64_t e) const {
    const int64_t match = a.idx[e];
    T* gp = a.grad_points + 3 * e;
    T* gs = a.grad_prims + 3 * K * e;
    if (match < 0) {
      for (int i = 0; i < 3; ++i) gp[i] = T(0);
      for (int i = 0; i < 3 * K; ++i) gs[i] = T(0);
      return;
    }
    const Vec3<T> p = load3(a.points + 3 * (PointQueries ? e : match));
    const T* c = a.prims + 3 * K * (PointQueries ? match : e);
    T w[K];
    Closest<T, K>::eval(p, c, a.min_area, w);
    const Vec3<T> g = (p - weighted_point<T, K>(c, w)) * (T(2) * a.grad_dists[e]);
    store3(gp, g);
    for (int k = 0; k < K; ++k) store3(gs + 3 * k, g * (-w[k]));
  }
};

// Calls run(forward) with the NearestForward for `corners` (2 or 3) and the query side.
template <typename T, typename Run>
inline Status with_forward_body(const PointMeshForwardArgs<T>& a, int corners, bool point_queries,
                                const Run& run) {
  if (corners == 3) {
    return point_queries ? run(NearestForward<T, 3, true>{a}) : run(NearestForward<T, 3, false>{a});
  }
  if (corners == 2) {
    return point_queries ? run(NearestForward<T, 2, true>{a}) : run(NearestForward<T, 2, false>{a});
  }
  return Status::error("point_mesh: primitives must have 2 or 3 corners");
}

template <typename T, typename Run>
inline Status with_backward_body(const PointMeshBackwardArgs<T>& a, int corners,
                                 bool point_queries, const Run& run) {
  if (corners == 3) {
    return point_queries ? run(NearestBackward<T, 3, true>{a}) : run(NearestBackward<T, 3, false>{a});
  }
  if (corners == 2) {
    return point_queries ? run(NearestBackward<T, 2, true>{a}) : run(NearestBackward<T, 2, false>{a});
  }
  return Status::error("point_mesh: primitives must have 2 or 3 corners");
}

}  // namespace r3d
