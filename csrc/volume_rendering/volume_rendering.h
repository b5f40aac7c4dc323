// Per-ray bodies of emission-absorption rendering of voxel grids (PyTorch3D's VolumeSampler with
// trilinear sampling and zero padding, then its EmissionAbsorptionRaymarcher), forward and
// backward, shared by CPU and CUDA.
//
// Inputs: grid (N, K, D, H, W), channel 0 the densities and channels 1..K-1 the C = K - 1
// features, either contiguous or "channels last" (a permuted contiguous (N, D, H, W, K)
// tensor); origins, directions (N, R, 3); lengths (N, R, P); scale, shift (N, 3), the map of
// world points to each volume's local frame ([-1, 1] across the grid): local = world * scale +
// shift. Sample k of ray r is the local point o + lengths[k] * d with o = origin * scale + shift
// and d = direction * scale (PyTorch3D's order of operations), read from the grid as
// grid_sample(mode="bilinear", padding_mode="zeros") reads it (x along W, y along H, z along D).
// With d_k its density, f_k its features, e_j = (1 + eps) - d_j and s the surface thickness:
//   A_k = prod_{j <= k - s} e_j                 (absorption; 1 for k < s)
//   features[r] = sum_k d_k A_k f_k
//   opacities[r] = 1 - prod_k (1 - d_k)
//
// Backward, with g = dL/dfeatures[r], o = dL/dopacities[r], H_m = d_m <g, f_m>:
//   dL/df_k = d_k A_k g
//   dL/dd_k = A_k <g, f_k> - B_k U_{k+s} + o F_k Q_k
// where B_k = prod_{j < k} e_j, F_k = prod_{j < k} (1 - d_j), Q_k = prod_{j > k} (1 - d_j) and
// U_i = sum_{m >= i} H_m prod_{i - s < j <= m - s} e_j (0 for i >= P), computed back to front
// as U_i = H_i + e_{i-s+1} U_{i+1}: no division, so densities of 1 are fine. A front pass
// stores B, F and the densities in a scratch row of 3P values; the back pass resamples the
// features and scatters both gradients onto the grid's eight corners with the trilinear
// weights (atomically on the GPU; on the CPU into a buffer per thread).
#pragma once

#include <cmath>
#include <cstdint>

#include "common/accumulate.h"
#include "common/macros.h"

namespace r3d {

struct EaGridShape {
  int64_t N, R, P;      // volumes, rays per volume, samples per ray
  int64_t K;            // grid channels: the density, then the features
  int64_t D, H, W;      // grid size
  bool channels_last;   // the grid (and its gradient) is laid out as (N, D, H, W, K)
  bool align_corners;   // grid_sample's align_corners
  int64_t thickness;    // surface thickness s >= 1
  double eps;           // added to 1 - density in the absorption

  R3D_HD int64_t voxels() const { return D * H * W; }
  // Offset of channel c of a voxel from the voxel's channel 0.
  R3D_HD int64_t channel(int64_t c) const { return channels_last ? c : c * voxels(); }
  // Offset of channel 0 of voxel (z, y, x) from the volume's start.
  R3D_HD int64_t voxel(int64_t z, int64_t y, int64_t x) const {
    const int64_t v = (z * H + y) * W + x;
    return channels_last ? v * K : v;
  }
};

// The eight corners around a sample, in grid_sample's order (x fastest, then y, then z): the
// offset of each corner's channel 0 from the volume's start (-1 outside the grid) and its
// trilinear weight.
template <typename T>
struct Corners {
  int64_t at[8];
  T w[8];
};

// grid_sample's unnormalisation of a coordinate in [-1, 1] to an index along a side of `size`.
template <typename T>
R3D_HD inline T grid_index(T coord, int64_t size, bool align_corners) {
  return align_corners ? ((coord + T(1)) / T(2)) * T(size - 1)
                       : ((coord + T(1)) * T(size) - T(1)) / T(2);
}

// The corners of the local point (x, y, z); false when none is inside the grid (the sample is
// then 0 in every channel; NaN points are outside).
template <typename T>
R3D_HD inline bool find_corners(T x, T y, T z, const EaGridShape& s, Corners<T>* c) {
  const T ix = grid_index(x, s.W, s.align_corners);
  const T iy = grid_index(y, s.H, s.align_corners);
  const T iz = grid_index(z, s.D, s.align_corners);
  if (!(ix > T(-1) && ix < T(s.W) && iy > T(-1) && iy < T(s.H) && iz > T(-1) && iz < T(s.D)))
    return false;
  const T fx = floor(ix), fy = floor(iy), fz = floor(iz);
  const int64_t x0 = static_cast<int64_t>(fx), y0 = static_cast<int64_t>(fy),
                z0 = static_cast<int64_t>(fz);
  const T wx[2] = {(fx + T(1)) - ix, ix - fx};
  const T wy[2] = {(fy + T(1)) - iy, iy - fy};
  const T wz[2] = {(fz + T(1)) - iz, iz - fz};
  for (int t = 0; t < 8; ++t) {
    const int dx = t & 1, dy = (t >> 1) & 1, dz = t >> 2;
    const int64_t xi = x0 + dx, yi = y0 + dy, zi = z0 + dz;
    const bool inside = xi >= 0 && xi < s.W && yi >= 0 && yi < s.H && zi >= 0 && zi < s.D;
    c->at[t] = inside ? s.voxel(zi, yi, xi) : -1;
    c->w[t] = wx[dx] * wy[dy] * wz[dz];
  }
  return true;
}

// Trilinear value of channel c (of the volume starting at vol) at the corners.
template <typename T>
R3D_HD inline T corner_value(const T* vol, const Corners<T>& c, int64_t channel_offset) {
  T v = T(0);
  for (int t = 0; t < 8; ++t)
    if (c.at[t] >= 0) v += c.w[t] * vol[c.at[t] + channel_offset];
  return v;
}

// The inputs of one ray, shared by the forward and backward bodies.
template <typename T>
struct EaGridRays {
  const T* grid;        // (N, K, D, H, W)
  const T* origins;     // (N, R, 3)
  const T* directions;  // (N, R, 3)
  const T* lengths;     // (N, R, P)
  const T* scale;       // (N, 3)
  const T* shift;       // (N, 3)
  EaGridShape s;

  // The local origin o and direction d of ray r (in [0, N * R)).
  R3D_HD void local_ray(int64_t r, T o[3], T d[3]) const {
    const int64_t n = r / s.R;
    for (int a = 0; a < 3; ++a) {
      o[a] = origins[r * 3 + a] * scale[n * 3 + a] + shift[n * 3 + a];
      d[a] = directions[r * 3 + a] * scale[n * 3 + a];
    }
  }

  // The corners of sample k of ray r (local origin o, direction d); false when outside.
  R3D_HD bool sample_corners(int64_t r, int64_t k, const T o[3], const T d[3],
                             Corners<T>* c) const {
    const T t = lengths[r * s.P + k];
    return find_corners(o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2], s, c);
  }

  // The density of sample k of ray r.
  R3D_HD T density(int64_t r, int64_t k, const T o[3], const T d[3]) const {
    Corners<T> c;
    return sample_corners(r, k, o, d, &c) ? corner_value(volume(r), c, 0) : T(0);
  }

  R3D_HD const T* volume(int64_t r) const { return grid + (r / s.R) * s.K * s.voxels(); }
};

template <typename T>
struct EaGridForward {
  EaGridRays<T> in;
  T* features;   // (N, R, K - 1)
  T* opacities;  // (N, R)

  // Renders ray r in [0, N * R).
  R3D_HD void operator()(int64_t r) const {
    const EaGridShape& s = in.s;
    const int64_t C = s.K - 1;
    T* out = features + r * C;
    for (int64_t c = 0; c < C; ++c) out[c] = T(0);
    T o[3], d[3];
    in.local_ray(r, o, d);
    const T* vol = in.volume(r);
    const T one_eps = static_cast<T>(1.0 + s.eps);
    T absorption = T(1);   // A_k
    T transmitted = T(1);  // prod_{j < k} (1 - d_j)
    T previous = T(0);     // d_{k-1}
    for (int64_t k = 0; k < s.P; ++k) {
      if (k >= s.thickness)
        absorption *= one_eps - (s.thickness == 1 ? previous : in.density(r, k - s.thickness, o, d));
      Corners<T> corners;
      const bool hit = in.sample_corners(r, k, o, d, &corners);
      const T density = hit ? corner_value(vol, corners, 0) : T(0);
      if (hit) {
        const T weight = density * absorption;
        for (int64_t c = 0; c < C; ++c)
          out[c] += weight * corner_value(vol, corners, s.channel(c + 1));
      }
      transmitted *= T(1) - density;
      previous = density;
    }
    opacities[r] = T(1) - transmitted;
  }
};

template <typename T>
struct EaGridBackward {
  EaGridRays<T> in;
  const T* grad_features;   // (N, R, K - 1)
  const T* grad_opacities;  // (N, R)
  T* grad_grid;             // (N, K, D, H, W) in the grid's layout, added into
  T* scratch;               // (N * R, 3 * P) on the GPU: each ray's row; null on the CPU

  // Backward of ray r, with a scratch row of 3 * P values.
  R3D_HD void ray(int64_t r, T* row) const {
    const EaGridShape& s = in.s;
    const int64_t C = s.K - 1, P = s.P;
    T* front = row;                // B_k
    T* clear = row + P;            // F_k
    T* dens_then_u = row + 2 * P;  // d_k, replaced by U_k once the back pass is past k
    T o[3], d[3];
    in.local_ray(r, o, d);
    const T one_eps = static_cast<T>(1.0 + s.eps);
    T b = T(1), f = T(1);
    for (int64_t k = 0; k < P; ++k) {
      const T density = in.density(r, k, o, d);
      front[k] = b;
      clear[k] = f;
      dens_then_u[k] = density;
      b *= one_eps - density;
      f *= T(1) - density;
    }
    const T* vol = in.volume(r);
    T* grad_vol = grad_grid + (r / s.R) * s.K * s.voxels();
    const T* g = grad_features + r * C;
    const T go = grad_opacities[r];
    T behind = T(1);  // Q_k
    T u_next = T(0);  // U_{k+1}
    for (int64_t k = P - 1; k >= 0; --k) {
      const T density = dens_then_u[k];
      const T absorption = k - s.thickness + 1 > 0 ? front[k - s.thickness + 1] : T(1);
      Corners<T> corners;
      const bool hit = in.sample_corners(r, k, o, d, &corners);
      T gf = T(0);  // <g, f_k>
      if (hit)
        for (int64_t c = 0; c < C; ++c) gf += g[c] * corner_value(vol, corners, s.channel(c + 1));
      const T u_ahead = k + s.thickness < P ? dens_then_u[k + s.thickness] : T(0);  // U_{k+s}
      const T grad_density = absorption * gf - front[k] * u_ahead + go * clear[k] * behind;
      behind *= T(1) - density;
      if (k >= s.thickness) {  // U_k, needed from step k - s on
        u_next = density * gf + (one_eps - dens_then_u[k - s.thickness + 1]) * u_next;
        dens_then_u[k] = u_next;
      }
      if (!hit) continue;
      const T weight = density * absorption;
      for (int t = 0; t < 8; ++t) {
        if (corners.at[t] < 0) continue;
        T* at = grad_vol + corners.at[t];
        const T w = corners.w[t];
        accumulate(at, w * grad_density);
        for (int64_t c = 0; c < C; ++c) accumulate(at + s.channel(c + 1), w * (weight * g[c]));
      }
    }
  }

  // The GPU's body: ray r with its own scratch row.
  R3D_HD void operator()(int64_t r) const { ray(r, scratch + r * 3 * in.s.P); }
};

}  // namespace r3d
