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
// as U_i = H_i + e_{i-s+1} U_{i+1}: no division, so densities of 1 are fine. The forward saves
// the sampled densities d_k; from them a front pass stores B and F in a scratch row of 3P
// values (U the third part); the back pass resamples the features and scatters both gradients
// onto the grid's eight corners with the trilinear weights (atomically on the GPU; on the CPU
// into a buffer per thread).
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
  bool inside;  // all eight are inside
};

// grid_sample's unnormalisation of a coordinate in [-1, 1] to an index along a side of `size`.
template <typename T>
R3D_HD inline T grid_index(T coord, int64_t size, bool align_corners) {
  return align_corners ? ((coord + T(1)) / T(2)) * T(size - 1)
                       : ((coord + T(1)) * T(size) - T(1)) / T(2);
}

// The corners of the local point (x, y, z); false when none is inside the grid (the sample is
// then 0 in every channel; NaN points are outside). KS: as corner_values'.
template <int KS, typename T>
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
  const int64_t step_x = KS ? KS : s.voxel(0, 0, 1), step_y = step_x * s.W,
                step_z = step_y * s.H, base = z0 * step_z + y0 * step_y + x0 * step_x;
  for (int t = 0; t < 8; ++t) {
    const int dx = t & 1, dy = (t >> 1) & 1, dz = t >> 2;
    c->at[t] = base + dx * step_x + dy * step_y + dz * step_z;
    c->w[t] = wx[dx] * wy[dy] * wz[dz];
  }
  // most samples of a ray through the grid have all eight corners inside
  c->inside = x0 >= 0 && x0 + 1 < s.W && y0 >= 0 && y0 + 1 < s.H && z0 >= 0 && z0 + 1 < s.D;
  if (c->inside) return true;
  for (int t = 0; t < 8; ++t) {
    const int64_t xi = x0 + (t & 1), yi = y0 + ((t >> 1) & 1), zi = z0 + (t >> 2);
    if (xi < 0 || xi >= s.W || yi < 0 || yi >= s.H || zi < 0 || zi >= s.D) c->at[t] = -1;
  }
  return true;
}

// Channels are read and written in chunks of kChunk (unrolled loops), the last one partial.
// The bodies are compiled twice: for a channels-last grid of exactly kChunk channels (density
// and three features: KS = kChunk, every size and stride a constant) and for any grid (KS = 0).
constexpr int kChunk = 4;

// On the CPU (GCC, Clang), a float chunk of a channels-last grid is one SIMD vector: the
// kChunk channels of a corner are read, weighted and added (or scattered) at once, each lane
// computing what the scalar loop computes, in the same order.
#if defined(__GNUC__) && !defined(__CUDACC__)
#define R3D_VECTOR_CHUNKS 1
typedef float FloatChunk __attribute__((vector_size(kChunk * sizeof(float))));

inline FloatChunk load_chunk(const float* p) {
  FloatChunk v;
  __builtin_memcpy(&v, p, sizeof(v));
  return v;
}

inline void store_chunk(float* p, const FloatChunk& v) { __builtin_memcpy(p, &v, sizeof(v)); }
#else
#define R3D_VECTOR_CHUNKS 0
#endif

// Trilinear values v[j] of channels first + j, j < count <= kChunk, at the corners (of the
// volume starting at vol).
template <int KS, typename T>
R3D_HD inline void corner_values(const T* vol, const Corners<T>& c, const EaGridShape& s,
                                 int64_t first, int count, T v[kChunk]) {
  for (int j = 0; j < kChunk; ++j) v[j] = T(0);
  if (KS == kChunk && c.inside) {
#if R3D_VECTOR_CHUNKS
    if constexpr (sizeof(T) == sizeof(float)) {
      FloatChunk sum = {};
      for (int t = 0; t < 8; ++t) sum += c.w[t] * load_chunk(vol + c.at[t]);
      store_chunk(v, sum);
      return;
    }
#endif
    for (int t = 0; t < 8; ++t)
      for (int j = 0; j < kChunk; ++j) v[j] += c.w[t] * vol[c.at[t] + j];
    return;
  }
  const int64_t step = KS ? 1 : s.channel(1);
  for (int t = 0; t < 8; ++t) {
    if (c.at[t] < 0) continue;
    const T* at = vol + c.at[t] + first * step;
    for (int j = 0; j < kChunk; ++j)
      if (j < count) v[j] += c.w[t] * at[j * step];
  }
}

// Adds w_t v[j] to channel first + j (j < count) of each corner t of the gradient grad_vol.
template <int KS, typename T>
R3D_HD inline void scatter_values(T* grad_vol, const Corners<T>& c, const EaGridShape& s,
                                  int64_t first, int count, const T v[kChunk]) {
#if R3D_VECTOR_CHUNKS
  if constexpr (sizeof(T) == sizeof(float)) {
    if (KS == kChunk && c.inside) {
      FloatChunk values;
      __builtin_memcpy(&values, v, sizeof(values));
      for (int t = 0; t < 8; ++t) {
        T* at = grad_vol + c.at[t];
        store_chunk(at, load_chunk(at) + c.w[t] * values);
      }
      return;
    }
  }
#endif
  const int64_t step = KS ? 1 : s.channel(1);
  for (int t = 0; t < 8; ++t) {
    if (c.at[t] < 0) continue;
    T* at = grad_vol + c.at[t] + first * step;
    for (int j = 0; j < kChunk; ++j)
      if (j < count) accumulate(at + j * step, c.w[t] * v[j]);
  }
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
  template <int KS>
  R3D_HD bool sample_corners(int64_t r, int64_t k, const T o[3], const T d[3],
                             Corners<T>* c) const {
    const T t = lengths[r * s.P + k];
    return find_corners<KS>(o[0] + t * d[0], o[1] + t * d[1], o[2] + t * d[2], s, c);
  }

  // The density of sample k of ray r.
  R3D_HD T density(int64_t r, int64_t k, const T o[3], const T d[3]) const {
    Corners<T> c;
    T v[kChunk];
    if (!sample_corners<0>(r, k, o, d, &c)) return T(0);
    corner_values<0>(volume(r), c, s, 0, 1, v);
    return v[0];
  }

  R3D_HD const T* volume(int64_t r) const { return grid + (r / s.R) * s.K * s.voxels(); }
};

template <typename T>
struct EaGridForward {
  EaGridRays<T> in;
  T* features;       // (N, R, K - 1)
  T* opacities;      // (N, R)
  T* ray_densities;  // (N, R, P): the sampled densities d_k, for the backward; or null

  // Renders ray r in [0, N * R).
  R3D_HD void operator()(int64_t r) const {
    if (in.s.K == kChunk && in.s.channels_last)
      render<kChunk>(r);
    else
      render<0>(r);
  }

  template <int KS>
  R3D_HD void render(int64_t r) const {
    const EaGridShape& s = in.s;
    const int64_t K = KS ? KS : s.K, C = K - 1;
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
      if (k >= s.thickness) {  // d_{k-s}: kept, saved or sampled again
        const T lagging = s.thickness == 1 ? previous
                          : ray_densities  ? ray_densities[r * s.P + k - s.thickness]
                                           : in.density(r, k - s.thickness, o, d);
        absorption *= one_eps - lagging;
      }
      Corners<T> corners;
      T density = T(0);
      if (in.template sample_corners<KS>(r, k, o, d, &corners)) {
        T weight = T(0);
        for (int64_t first = 0; first < K; first += kChunk) {
          const int count = static_cast<int>(K - first < kChunk ? K - first : kChunk);
          T v[kChunk];
          corner_values<KS>(vol, corners, s, first, count, v);
          if (first == 0) {
            density = v[0];
            weight = density * absorption;
          }
          for (int j = first == 0 ? 1 : 0; j < count; ++j) out[first + j - 1] += weight * v[j];
        }
      }
      if (ray_densities) ray_densities[r * s.P + k] = density;
      transmitted *= T(1) - density;
      previous = density;
    }
    opacities[r] = T(1) - transmitted;
  }
};

template <typename T>
struct EaGridBackward {
  EaGridRays<T> in;
  const T* ray_densities;   // (N, R, P): the forward's d_k
  const T* grad_features;   // (N, R, K - 1)
  const T* grad_opacities;  // (N, R)
  T* grad_grid;             // (N, K, D, H, W) in the grid's layout, added into
  T* scratch;               // (N * R, 3 * P) on the GPU: each ray's row; null on the CPU

  // Backward of ray r, with a scratch row of 3 * P values.
  R3D_HD void ray(int64_t r, T* row) const {
    if (in.s.K == kChunk && in.s.channels_last)
      ray<kChunk>(r, row);
    else
      ray<0>(r, row);
  }

  template <int KS>
  R3D_HD void ray(int64_t r, T* row) const {
    const EaGridShape& s = in.s;
    const int64_t K = KS ? KS : s.K, C = K - 1, P = s.P;
    const T* dens = ray_densities + r * P;  // d_k
    T* front = row;                         // B_k
    T* clear = row + P;                     // F_k
    T* ahead = row + 2 * P;                 // U_k, for k >= s
    const T one_eps = static_cast<T>(1.0 + s.eps);
    T b = T(1), f = T(1);
    for (int64_t k = 0; k < P; ++k) {
      front[k] = b;
      clear[k] = f;
      b *= one_eps - dens[k];
      f *= T(1) - dens[k];
    }
    T o[3], d[3];
    in.local_ray(r, o, d);
    const T* vol = in.volume(r);
    T* grad_vol = grad_grid + (r / s.R) * s.K * s.voxels();
    const T* g = grad_features + r * C;
    const T go = grad_opacities[r];
    T behind = T(1);  // Q_k
    T u_next = T(0);  // U_{k+1}
    for (int64_t k = P - 1; k >= 0; --k) {
      const T density = dens[k];
      const T absorption = k - s.thickness + 1 > 0 ? front[k - s.thickness + 1] : T(1);
      Corners<T> corners;
      const bool hit = in.template sample_corners<KS>(r, k, o, d, &corners);
      T gf = T(0);  // <g, f_k>
      if (hit) {
        for (int64_t first = 0; first < K; first += kChunk) {
          const int count = static_cast<int>(K - first < kChunk ? K - first : kChunk);
          T v[kChunk];
          corner_values<KS>(vol, corners, s, first, count, v);
          for (int j = first == 0 ? 1 : 0; j < count; ++j) gf += g[first + j - 1] * v[j];
        }
      }
      const T u_ahead = k + s.thickness < P ? ahead[k + s.thickness] : T(0);  // U_{k+s}
      const T grad_density = absorption * gf - front[k] * u_ahead + go * clear[k] * behind;
      behind *= T(1) - density;
      if (k >= s.thickness) {  // U_k, needed from step k - s on
        u_next = density * gf + (one_eps - dens[k - s.thickness + 1]) * u_next;
        ahead[k] = u_next;
      }
      if (!hit) continue;
      const T weight = density * absorption;
      for (int64_t first = 0; first < K; first += kChunk) {
        const int count = static_cast<int>(K - first < kChunk ? K - first : kChunk);
        T v[kChunk];  // the gradient w.r.t. channel first + j of the sample
        for (int j = 0; j < count; ++j)
          v[j] = first + j == 0 ? grad_density : weight * g[first + j - 1];
        scatter_values<KS>(grad_vol, corners, s, first, count, v);
      }
    }
  }

  // The GPU's body: ray r with its own scratch row.
  R3D_HD void operator()(int64_t r) const { ray(r, scratch + r * 3 * in.s.P); }
};

}  // namespace r3d
