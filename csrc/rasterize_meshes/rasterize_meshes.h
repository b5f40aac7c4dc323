// Per-pixel bodies of rasterize_meshes, shared by the CPU and CUDA launchers.
//
// Inputs: face_verts (F, 3, 3) packed face corners in NDC (x, y) with view depth z; face_first
// and face_count (N,) give mesh n's faces [face_first[n], face_first[n] + face_count[n]).
// Outputs, pixel q = (n * H + y) * W + x, slot k < K: pix_to_face (N, H, W, K) packed face index,
// zbuf (N, H, W, K) depth, bary (N, H, W, K, 3) barycentrics, dists (N, H, W, K) signed squared
// NDC distance (negative inside); slots sorted by (depth, face index), -1 past the hits.
// Pixel conventions: common/raster.h.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>

#include "common/macros.h"
#include "common/pixel_box.h"
#include "common/raster.h"

namespace r3d {

// Faces with |2 * area| at most this are degenerate; corners at depths below it are behind the
// camera. Also the relative threshold of the perspective-correction denominator.
constexpr double kRasterEps = 1e-8;
// Lower bound of the sum of clipped barycentrics before they are renormalised.
constexpr double kClipSumMin = 1e-5;

struct RasterSettings {
  int64_t N, H, W, K;
  double blur_radius;  // squared NDC distance within which a pixel outside a face still hits it
  bool perspective_correct;
  bool clip_barycentric_coords;
  bool cull_backfaces;
};

// Edge function of p against the edge a -> b (twice the signed area of the triangle p, a, b).
template <typename T>
R3D_HD inline T edge_fn(T px, T py, T ax, T ay, T bx, T by) {
  return (px - ax) * (by - ay) - (py - ay) * (bx - ax);
}

// Twice the signed screen area of face v (9 values: x, y, z of each corner); negative for a face
// seen from the back.
template <typename T>
R3D_HD inline T face_area2(const T* v) {
  return edge_fn(v[6], v[7], v[0], v[1], v[3], v[4]);
}

// Whether a face can hit any pixel: not degenerate, not culled as a back face, every corner in
// front of the camera. Two corners at the same screen point make a face degenerate whatever the
// rounding of its area (a fused multiply-add, as nvcc emits, leaves a residue of ~1e-8 there).
template <typename T>
R3D_HD inline bool face_visible(const T* v, bool cull_backfaces) {
  for (int i = 0; i < 3; ++i) {
    const int j = (i + 1) % 3;
    if (v[3 * i] == v[3 * j] && v[3 * i + 1] == v[3 * j + 1]) return false;
  }
  const T area = face_area2(v);
  const T eps = static_cast<T>(kRasterEps);
  if ((area <= eps && area >= -eps) || (cull_backfaces && area < T(0))) return false;
  const T zmin = v[2] < v[5] ? (v[2] < v[8] ? v[2] : v[8]) : (v[5] < v[8] ? v[5] : v[8]);
  return zmin >= eps;
}

// How far (NDC) outside a visible face's box, expanded by r, a pixel centre can still pass the
// pair test in T's arithmetic: a bound on the rounding of the edge functions and distances.
// Outside the box by delta, some exact barycentric is below -delta / (2 * (box side)), so an
// edge function below -delta |area| / (2 * side), while their rounding stays below a few ulps of
// side^2 (both grow by side * delta further out): delta of 48 ulps of side^3 / |area| with
// span the box's width plus height, plus a few ulps of the coordinates' magnitude (pixel centres
// rounded to T, the distances' rounding). Capped at a pixel (2 / min(H, W)), the former fixed
// widening, for slivers whose bound exceeds it.
template <typename T>
R3D_HD inline double face_box_slack(double span, T area, double r, double xlo, double xhi,
                                    double ylo, double yhi, int64_t H, int64_t W) {
  const double ulp = static_cast<double>(std::numeric_limits<T>::epsilon());
  const int64_t min_side = H < W ? H : W;
  const double pixel = 2.0 / static_cast<double>(min_side);
  const double a = area < T(0) ? -static_cast<double>(area) : static_cast<double>(area);
  const double ax = xlo < 0 ? -xlo : xlo, bx = xhi < 0 ? -xhi : xhi;
  const double ay = ylo < 0 ? -ylo : ylo, by = yhi < 0 ? -yhi : yhi;
  const double ext = static_cast<double>(H > W ? H : W) / static_cast<double>(min_side);
  double mag = ax > bx ? ax : bx;
  mag = mag > ay ? mag : ay;
  mag = mag > by ? mag : by;
  mag = mag > ext ? mag : ext;
  const double m = ulp * (48.0 * span * span * span / a + 8.0 * (1.0 + mag + span + r));
  return m < pixel ? m : pixel;
}

// The pixels visible face v's box, expanded by sqrt(blur_radius), may reach in an H x W image;
// empty for a face that hits no pixel (not visible, or off the image). The box is widened by a
// bound on T's rounding (face_box_slack) rather than by a pixel, so that a face of a pixel tests
// a few pixels, not 9 or more.
template <typename T>
R3D_HD inline PixelBox face_pixel_box(const T* v, const RasterSettings& s) {
  if (!face_visible(v, s.cull_backfaces)) return PixelBox{0, -1, 0, -1};
  const double x0 = v[0], x1 = v[3], x2 = v[6], y0 = v[1], y1 = v[4], y2 = v[7];
  // (each a min or max of two at a time, which compiles without branches)
  double xlo = x0 < x1 ? x0 : x1, xhi = x0 > x1 ? x0 : x1;
  double ylo = y0 < y1 ? y0 : y1, yhi = y0 > y1 ? y0 : y1;
  xlo = xlo < x2 ? xlo : x2, xhi = xhi > x2 ? xhi : x2;
  ylo = ylo < y2 ? ylo : y2, yhi = yhi > y2 ? yhi : y2;
  const double r = ::sqrt(s.blur_radius);
  const double m = face_box_slack<T>(xhi - xlo + yhi - ylo, face_area2(v), r, xlo, xhi, ylo, yhi,
                                     s.H, s.W);
  return pixel_box(xlo - r - m, xhi + r + m, ylo - r - m, yhi + r + m, s.H, s.W, 0);
}

// A face as the fine passes read it: corners (x, y, z each), pixel box (image sides below 2^31)
// and packed index.
template <typename T>
struct StagedFace {
  T v[9];
  int32_t x0, x1, y0, y1;
  int64_t f;

  R3D_HD PixelBox box() const { return PixelBox{x0, x1, y0, y1}; }
};

// Face f of face_verts (F, 3, 3) staged with its pixel box.
template <typename T>
R3D_HD inline StagedFace<T> stage_face(const T* face_verts, int64_t f, const PixelBox& box) {
  StagedFace<T> sf;
  for (int i = 0; i < 9; ++i) sf.v[i] = face_verts[9 * f + i];
  sf.x0 = static_cast<int32_t>(box.x0), sf.x1 = static_cast<int32_t>(box.x1);
  sf.y0 = static_cast<int32_t>(box.y0), sf.y1 = static_cast<int32_t>(box.y1);
  sf.f = f;
  return sf;
}

// Squared distance from p to the segment a -> b; t receives the clamped parameter of the closest
// point (a + t (b - a)), or -1 for a degenerate segment, whose distance is measured to b.
template <typename T>
R3D_HD inline T segment_dist2(T px, T py, T ax, T ay, T bx, T by, T* t) {
  const T dx = bx - ax, dy = by - ay;
  const T l2 = dx * dx + dy * dy;
  if (l2 <= static_cast<T>(kRasterEps)) {
    *t = T(-1);
    return (px - bx) * (px - bx) + (py - by) * (py - by);
  }
  T s = (dx * (px - ax) + dy * (py - ay)) / l2;
  s = s < T(0) ? T(0) : (s > T(1) ? T(1) : s);
  *t = s;
  const T qx = ax + s * dx, qy = ay + s * dy;
  return (px - qx) * (px - qx) + (py - qy) * (py - qy);
}

// Everything the forward and backward need about one (pixel, face) pair.
template <typename T>
struct PixelFace {
  T area;       // twice the signed screen area
  T w[3];       // screen-space barycentrics
  T t[3];       // perspective numerators w_i * z_j * z_k (perspective_correct only)
  T denom;      // their sum
  T wp[3];      // perspective-corrected barycentrics (= w otherwise)
  T wc[3];      // clipped and renormalised (= wp otherwise): the output barycentrics
  T clip_sum;   // sum of max(wp_i, 0) before the lower bound
  T z;          // interpolated depth
  T d;          // unsigned squared distance to the nearest edge
  T edge_t;     // segment parameter of the nearest point (see segment_dist2)
  int edge;     // nearest edge: 0 (v0 v1), 1 (v1 v2), 2 (v2 v0)
  bool inside;
  bool valid;   // false where perspective correction is undefined (pixel beyond the horizon)
};

// The edge functions of pixel centre (px, py) against face v's edges, e[i] against the edge
// opposite corner i: the barycentrics are e[i] / area.
template <typename T>
R3D_HD inline void pixel_edges(const T* v, T px, T py, T* e) {
  e[0] = edge_fn(px, py, v[3], v[4], v[6], v[7]);
  e[1] = edge_fn(px, py, v[6], v[7], v[0], v[1]);
  e[2] = edge_fn(px, py, v[0], v[1], v[3], v[4]);
}

// False only for a pixel outside the face: inside needs every barycentric e[i] / area > 0 (and,
// with perspective correction, the same signs: the corrected ones are those times positive
// depths over their sum), so each e[i] nonzero and of the sign of the area.
template <typename T>
R3D_HD inline bool may_be_inside(const T* e, T area) {
  return area > T(0) ? (e[0] > T(0) && e[1] > T(0) && e[2] > T(0))
                     : (e[0] < T(0) && e[1] < T(0) && e[2] < T(0));
}

// Evaluates the pair but for the distance to the nearest edge (d, edge_t and edge unset): the
// barycentrics and depth of pixel centre (px, py) in visible face v, from its edge functions e
// (pixel_edges) and area (face_area2).
template <typename T>
R3D_HD inline PixelFace<T> pixel_face_core(const T* v, T area, const T* e,
                                           const RasterSettings& s) {
  PixelFace<T> r;
  const T z0 = v[2], z1 = v[5], z2 = v[8];
  r.area = area;
  for (int i = 0; i < 3; ++i) r.w[i] = e[i] / r.area;
  r.valid = true;
  for (int i = 0; i < 3; ++i) r.wp[i] = r.w[i];
  if (s.perspective_correct) {
    r.t[0] = r.w[0] * z1 * z2;
    r.t[1] = r.w[1] * z0 * z2;
    r.t[2] = r.w[2] * z0 * z1;
    r.denom = r.t[0] + r.t[1] + r.t[2];
    const T mag = (r.t[0] < T(0) ? -r.t[0] : r.t[0]) + (r.t[1] < T(0) ? -r.t[1] : r.t[1]) +
                  (r.t[2] < T(0) ? -r.t[2] : r.t[2]);
    r.valid = r.denom > static_cast<T>(kRasterEps) * mag;
    for (int i = 0; i < 3; ++i) r.wp[i] = r.valid ? r.t[i] / r.denom : T(0);
  }
  r.inside = r.wp[0] > T(0) && r.wp[1] > T(0) && r.wp[2] > T(0);
  for (int i = 0; i < 3; ++i) r.wc[i] = r.wp[i];
  if (s.clip_barycentric_coords) {
    T m[3];
    for (int i = 0; i < 3; ++i) m[i] = r.wp[i] > T(0) ? r.wp[i] : T(0);
    r.clip_sum = m[0] + m[1] + m[2];
    const T sum = r.clip_sum > static_cast<T>(kClipSumMin) ? r.clip_sum
                                                           : static_cast<T>(kClipSumMin);
    for (int i = 0; i < 3; ++i) r.wc[i] = m[i] / sum;
  }
  r.z = r.wc[0] * z0 + r.wc[1] * z1 + r.wc[2] * z2;
  return r;
}

// Completes pixel_face_core's pair: the squared distance of pixel centre (px, py) to the nearest
// edge of face v.
template <typename T>
R3D_HD inline void pixel_face_distance(const T* v, T px, T py, PixelFace<T>* r) {
  const T x0 = v[0], y0 = v[1], x1 = v[3], y1 = v[4], x2 = v[6], y2 = v[7];
  T t01, t12, t20;
  const T d01 = segment_dist2(px, py, x0, y0, x1, y1, &t01);
  const T d12 = segment_dist2(px, py, x1, y1, x2, y2, &t12);
  const T d20 = segment_dist2(px, py, x2, y2, x0, y0, &t20);
  r->edge = 0, r->d = d01, r->edge_t = t01;
  if (d12 < r->d) r->edge = 1, r->d = d12, r->edge_t = t12;
  if (d20 < r->d) r->edge = 2, r->d = d20, r->edge_t = t20;
}

// Evaluates the pair: barycentrics, depth and distance of pixel centre (px, py) to visible face v.
template <typename T>
R3D_HD inline PixelFace<T> pixel_face(const T* v, T px, T py, const RasterSettings& s) {
  T e[3];
  pixel_edges(v, px, py, e);
  PixelFace<T> r = pixel_face_core(v, face_area2(v), e, s);
  pixel_face_distance(v, px, py, &r);
  return r;
}

// Whether an evaluated pair is a hit: depth in front of the camera, and the pixel inside the face
// or within blur_radius of it.
template <typename T>
R3D_HD inline bool is_hit(const PixelFace<T>& r, const RasterSettings& s) {
  return r.valid && r.z >= T(0) && (r.inside || r.d < static_cast<T>(s.blur_radius));
}

// Sets slots [begin, end) of the rows face, zbuf, bary (3 values a slot) and dists to -1 (no
// hit), one array after the other (runs of stores that the compiler vectorises).
template <typename T>
R3D_HD inline void clear_slots(int64_t* face, T* zbuf, T* bary, T* dists, int64_t begin,
                               int64_t end) {
  for (int64_t k = begin; k < end; ++k) face[k] = -1;
  for (int64_t k = begin; k < end; ++k) zbuf[k] = T(-1);
  for (int64_t k = begin; k < end; ++k) dists[k] = T(-1);
  for (int64_t k = 3 * begin; k < 3 * end; ++k) bary[k] = T(-1);
}

// The K nearest hits of one pixel, kept sorted by (depth, face index) in the output rows.
template <typename T>
struct PixelTopK {
  int64_t* face;
  T* zbuf;
  T* bary;
  T* dists;
  int64_t K;
  int64_t count;  // hits stored so far

  R3D_HD PixelTopK(int64_t* f, T* z, T* b, T* d, int64_t k, int64_t c)
      : face(f), zbuf(z), bary(b), dists(d), K(k), count(c) {}

  R3D_HD void move(int64_t to, int64_t from) {
    face[to] = face[from];
    zbuf[to] = zbuf[from];
    dists[to] = dists[from];
    for (int i = 0; i < 3; ++i) bary[3 * to + i] = bary[3 * from + i];
  }

  // Whether a hit at depth z of face f would enter the list.
  R3D_HD bool takes(T z, int64_t f) const {
    return count < K || nearer(z, f, zbuf[K - 1], face[K - 1]);
  }

  R3D_HD void push(const PixelFace<T>& r, int64_t f) {
    if (!takes(r.z, f)) return;
    int64_t pos = count < K ? count++ : K - 1;
    while (pos > 0 && nearer(r.z, f, zbuf[pos - 1], face[pos - 1])) {
      move(pos, pos - 1);
      --pos;
    }
    face[pos] = f;
    zbuf[pos] = r.z;
    dists[pos] = r.inside ? -r.d : r.d;
    for (int i = 0; i < 3; ++i) bary[3 * pos + i] = r.wc[i];
  }

  // Fills the slots past the hits with -1.
  R3D_HD void pad() { clear_slots(face, zbuf, bary, dists, count, K); }
};

// Output rows of the forward (shapes in the header comment); row() is pixel q's top-K list.
template <typename T>
struct RasterOut {
  int64_t* pix_to_face;  // (N, H, W, K)
  T* zbuf;               // (N, H, W, K)
  T* bary;               // (N, H, W, K, 3)
  T* dists;              // (N, H, W, K)

  // The list of pixel q with count hits already stored.
  R3D_HD PixelTopK<T> row(int64_t q, int64_t K, int64_t count) const {
    return PixelTopK<T>(pix_to_face + q * K, zbuf + q * K, bary + 3 * q * K, dists + q * K, K,
                        count);
  }

  // Empties the lists of pixels [q, q + n) (slots of -1), which are one run of each row.
  R3D_HD void clear(int64_t q, int64_t n, int64_t K) const {
    clear_slots(pix_to_face, zbuf, bary, dists, q * K, (q + n) * K);
  }
};

// Naive forward of pixel q: every face of its mesh whose box holds the pixel, in ascending order
// (the CUDA launcher's path for a single bin; the binned paths run the same pair test and top-K
// list bin by bin).
template <typename T>
struct RasterizePixelNaive {
  const T* face_verts;        // (F, 3, 3)
  const int64_t* face_first;  // (N,)
  const int64_t* face_count;  // (N,)
  RasterSettings s;
  RasterOut<T> out;

  R3D_HD void operator()(int64_t q) const {
    const int64_t n = q / (s.H * s.W), x = q % s.W, y = (q / s.W) % s.H;
    const int64_t min_side = s.H < s.W ? s.H : s.W;
    const T px = pixel_centre<T>(x, s.W, min_side), py = pixel_centre<T>(y, s.H, min_side);
    PixelTopK<T> top = out.row(q, s.K, 0);
    for (int64_t f = face_first[n]; f < face_first[n] + face_count[n]; ++f) {
      const T* v = face_verts + 9 * f;
      if (!face_pixel_box(v, s).contains(x, y)) continue;
      const PixelFace<T> r = pixel_face(v, px, py, s);
      if (is_hit(r, s)) top.push(r, f);
    }
    top.pad();
  }
};

// Backward of one (pixel, face) pair: adds to g (9 values, the face's corners x, y, z) the
// gradient of the depth, barycentrics and signed distance given their upstream gradients.
template <typename T>
R3D_HD inline void pixel_face_backward(const T* v, T px, T py, const RasterSettings& s,
                                       T grad_z, const T* grad_bary, T grad_dist, T* g) {
  const PixelFace<T> r = pixel_face(v, px, py, s);
  const T z[3] = {v[2], v[5], v[8]};
  // depth = sum wc_i z_i; the output barycentrics are wc
  T gw[3];
  for (int i = 0; i < 3; ++i) {
    gw[i] = grad_bary[i] + grad_z * z[i];
    g[3 * i + 2] += grad_z * r.wc[i];
  }
  if (s.clip_barycentric_coords) {
    const T lo = static_cast<T>(kClipSumMin);
    const T sum = r.clip_sum >= lo ? r.clip_sum : lo;
    T dot = T(0);
    for (int i = 0; i < 3; ++i) dot += gw[i] * r.wc[i];
    for (int i = 0; i < 3; ++i) {
      const T gm = (gw[i] - (r.clip_sum >= lo ? dot : T(0))) / sum;
      gw[i] = r.wp[i] >= T(0) ? gm : T(0);
    }
  }
  if (s.perspective_correct) {
    T dot = T(0);
    for (int i = 0; i < 3; ++i) dot += gw[i] * r.wp[i];
    T gt[3];
    for (int i = 0; i < 3; ++i) gt[i] = (gw[i] - dot) / r.denom;
    gw[0] = gt[0] * z[1] * z[2];
    gw[1] = gt[1] * z[0] * z[2];
    gw[2] = gt[2] * z[0] * z[1];
    g[2] += gt[1] * r.w[1] * z[2] + gt[2] * r.w[2] * z[1];
    g[5] += gt[0] * r.w[0] * z[2] + gt[2] * r.w[2] * z[0];
    g[8] += gt[0] * r.w[0] * z[1] + gt[1] * r.w[1] * z[0];
  }
  // w_i = e_i / area with e_i the edge function of p against the edge opposite corner i
  T ga = T(0);
  for (int i = 0; i < 3; ++i) ga -= gw[i] * r.w[i];
  ga /= r.area;
  for (int i = 0; i < 3; ++i) {
    const int a = (i + 1) % 3, b = (i + 2) % 3;  // e_i = edge_fn(p, v_a, v_b)
    const T ge = gw[i] / r.area;
    const T ax = v[3 * a], ay = v[3 * a + 1], bx = v[3 * b], by = v[3 * b + 1];
    g[3 * a] += ge * (py - by);
    g[3 * a + 1] += ge * (bx - px);
    g[3 * b] += ge * (ay - py);
    g[3 * b + 1] += ge * (px - ax);
    // area = edge_fn(v_i, v_a, v_b) for every i (a cyclic shift), so its gradient w.r.t. v_i
    // is the edge function's gradient w.r.t. its point
    g[3 * i] += ga * (by - ay);
    g[3 * i + 1] += ga * (ax - bx);
  }
  // signed distance: +-|p - q|^2 with q the nearest point of the nearest edge a -> b
  const T gd = r.inside ? -grad_dist : grad_dist;
  const int a = r.edge, b = (r.edge + 1) % 3;
  const T ax = v[3 * a], ay = v[3 * a + 1], bx = v[3 * b], by = v[3 * b + 1];
  const T t = r.edge_t < T(0) ? T(1) : r.edge_t;
  const T ex = px - (ax + t * (bx - ax)), ey = py - (ay + t * (by - ay));
  if (r.edge_t >= T(0)) {
    g[3 * a] -= T(2) * gd * (T(1) - t) * ex;
    g[3 * a + 1] -= T(2) * gd * (T(1) - t) * ey;
  }
  g[3 * b] -= T(2) * gd * t * ex;
  g[3 * b + 1] -= T(2) * gd * t * ey;
}

// Backward of pixel q: adds to grad_face_verts (F, 3, 3) the gradient w.r.t. the corners of the
// face of each of its slots. Memory stays O(F), whatever the image size and K.
template <typename T>
struct RasterizeBackwardPixel {
  const T* face_verts;          // (F, 3, 3)
  const int64_t* pix_to_face;   // (N, H, W, K)
  const T* grad_zbuf;           // (N, H, W, K)
  const T* grad_bary;           // (N, H, W, K, 3)
  const T* grad_dists;          // (N, H, W, K)
  RasterSettings s;
  T* grad_face_verts;           // (F, 3, 3), accumulated into

  // Sets g (9 values) to the gradient w.r.t. the corners of the face of slot k of pixel q and
  // returns that face, or returns -1 (g untouched) for an empty slot.
  R3D_HD int64_t slot_gradient(int64_t q, int64_t k, T* g) const {
    const int64_t f = pix_to_face[q * s.K + k];
    if (f < 0) return -1;
    T px, py;
    centre(q, &px, &py);
    face_gradient(q * s.K + k, f, px, py, g);
    return f;
  }

  // The NDC centre (px, py) of pixel q.
  R3D_HD void centre(int64_t q, T* px, T* py) const {
    const int64_t x = q % s.W, y = (q / s.W) % s.H;
    const int64_t min_side = s.H < s.W ? s.H : s.W;
    *px = pixel_centre<T>(x, s.W, min_side), *py = pixel_centre<T>(y, s.H, min_side);
  }

  // Sets g (9 values) to the gradient w.r.t. the corners of face f, the face of the slot, at
  // pixel centre (px, py).
  R3D_HD void face_gradient(int64_t slot, int64_t f, T px, T py, T* g) const {
    for (int i = 0; i < 9; ++i) g[i] = T(0);
    pixel_face_backward(face_verts + 9 * f, px, py, s, grad_zbuf[slot], grad_bary + 3 * slot,
                        grad_dists[slot], g);
  }

  // (the pixel's centre computed once, at its first non-empty slot)
  R3D_HD void operator()(int64_t q) const {
    const int64_t* faces = pix_to_face + q * s.K;
    int64_t k = 0;
    while (k < s.K && faces[k] < 0) ++k;
    if (k == s.K) return;
    T px, py;
    centre(q, &px, &py);
    for (; k < s.K; ++k) {
      const int64_t f = faces[k];
      if (f < 0) continue;
      T g[9];
      face_gradient(q * s.K + k, f, px, py, g);
      for (int i = 0; i < 9; ++i) accumulate(grad_face_verts + 9 * f + i, g[i]);
    }
  }
};

}  // namespace r3d
