// Per-point bodies of splatting points into volumes (PyTorch3D's
// add_points_features_to_volume_densities_features), forward and backward, shared by CPU and
// CUDA.
//
// Inputs: points (N, P, 3) in the volumes' local coordinates, x, y, z spanning W, H, D;
// features (N, P, C); mask (N, P) uint8, nonzero for the points to splat; grid_sizes (N, 3)
// int64, the grid (D, H, W) of each item, within the volumes' (D, H, W) (voxel (z, y, x) of item
// n is volume[n, :, z, y, x]). Volumes: densities (N, 1, D, H, W), features (N, C, D, H, W),
// contiguous.
//
// A point's location along an axis of grid size G is ((p + 1) * 0.5) * (G - 1) with
// align_corners, ((p + 1) * 0.5) * G - 0.5 without. Trilinear splatting adds to the corners
// floor(loc) and floor(loc) + 1 of each axis the weights 1 - r and r (r = loc - floor(loc)),
// multiplied over the axes (x, then y, then z); nearest splatting adds weight 1 to the location
// rounded half away from zero. Each corner adds its weight to the density and weight * features
// to the features; corners outside the item's grid get nothing. Locations are rounded one
// operation at a time (common/exact_math.h), so CPU, CUDA and the twin pick the same corners.
#pragma once

#include <cmath>
#include <cstdint>

#include "common/accumulate.h"
#include "common/exact_math.h"
#include "common/macros.h"

namespace r3d {

struct SplatShape {
  int64_t N, P, C;  // points, features
  int64_t D, H, W;  // padded volumes
  bool align_corners;
  bool trilinear;  // else nearest
};

// A voxel a point adds to: its offset in one channel of its item's volume, its weight along
// each axis (x, y, z) and whether it is the upper corner along each axis.
template <typename T>
struct SplatCorner {
  int64_t offset;
  int64_t z;
  T w[3];
  bool up[3];

  R3D_HD T weight() const { return w[0] * w[1] * w[2]; }
};

template <typename T>
R3D_HD inline T floor_of(T x) {
#ifdef __CUDA_ARCH__
  return floor(x);
#else
  return std::floor(x);
#endif
}

template <typename T>
R3D_HD inline T round_half_away(T x) {
#ifdef __CUDA_ARCH__
  return round(x);
#else
  return std::round(x);
#endif
}

// The location of coordinate p along an axis of grid size `size`, in voxel units.
template <typename T>
R3D_HD inline T splat_location(T p, int64_t size, bool align_corners) {
  const T loc = mul_rn((p + T(1)) * T(0.5), static_cast<T>(align_corners ? size - 1 : size));
  return align_corners ? loc : loc - T(0.5);
}

// d location / d p along an axis of grid size `size`.
template <typename T>
R3D_HD inline T splat_location_scale(int64_t size, bool align_corners) {
  return T(0.5) * static_cast<T>(align_corners ? size - 1 : size);
}

// Calls visit(corner) for each voxel of point i's item grid that point i adds to (none for a
// masked point or one whose location is NaN or outside the grid's reach).
template <typename T, typename Visit>
R3D_HD inline void for_each_splat_corner(const T* points, const uint8_t* mask,
                                         const int64_t* grid_sizes, const SplatShape& s,
                                         int64_t i, const Visit& visit) {
  if (!mask[i]) return;
  const int64_t n = i / s.P;
  const int64_t size[3] = {grid_sizes[3 * n + 2], grid_sizes[3 * n + 1], grid_sizes[3 * n]};
  int64_t first[3];
  T frac[3];
  for (int a = 0; a < 3; ++a) {
    const T loc = splat_location(points[3 * i + a], size[a], s.align_corners);
    // reach: the corners of locations in (-1, size) meet the grid (NaN fails the test)
    const T base = s.trilinear ? floor_of(loc) : round_half_away(loc);
    if (!(base >= T(-1) && base < static_cast<T>(size[a]))) return;
    if (!s.trilinear && base < T(0)) return;
    first[a] = static_cast<int64_t>(base);
    frac[a] = loc - base;
  }
  // the corners first, then the visits: the visits' memory accesses (scattered over the
  // volumes) then follow one another closely, so more of them are in flight at once
  SplatCorner<T> found[8];
  int count = 0;
  const int corners = s.trilinear ? 8 : 1;
  for (int k = 0; k < corners; ++k) {
    SplatCorner<T>& c = found[count];
    int64_t idx[3];
    bool inside = true;
    for (int a = 0; a < 3; ++a) {
      c.up[a] = (k >> a) & 1;
      idx[a] = first[a] + c.up[a];
      c.w[a] = !s.trilinear ? T(1) : c.up[a] ? frac[a] : T(1) - frac[a];
      inside = inside && idx[a] >= 0 && idx[a] < size[a];
    }
    c.z = idx[2];
    c.offset = (idx[2] * s.H + idx[1]) * s.W + idx[0];
    count += inside;
  }
  for (int k = 0; k < count; ++k) visit(found[k]);
}

// Adds each point's weights and weighted features to the volumes (accumulated into, holding
// the initial volumes), writing only the depth rows n * D + z in [row_begin, row_end) (the CPU
// threads' shares of the volumes; all rows on CUDA, where the adds are atomic).
template <typename T>
struct SplatForward {
  const T* points;             // (N, P, 3)
  const T* features;           // (N, P, C)
  const uint8_t* mask;         // (N, P)
  const int64_t* grid_sizes;   // (N, 3)
  SplatShape s;
  T* densities;                // (N, 1, D, H, W)
  T* volume_features;          // (N, C, D, H, W)
  int64_t row_begin, row_end;  // of the N * D depth rows

  R3D_HD void operator()(int64_t i) const {
    const int64_t n = i / s.P;
    const int64_t V = s.D * s.H * s.W;
    const T* f = features + i * s.C;
    for_each_splat_corner(points, mask, grid_sizes, s, i, [&](const SplatCorner<T>& c) {
      const int64_t row = n * s.D + c.z;
      if (row < row_begin || row >= row_end) return;
      const T w = c.weight();
      accumulate(densities + n * V + c.offset, w);
      T* out = volume_features + n * s.C * V + c.offset;
      for (int64_t ch = 0; ch < s.C; ++ch) accumulate(out + ch * V, w * f[ch]);
    });
  }
};

// Gradients of each point's splat: w.r.t. its features (each corner's weight times the
// features' gradient there) and, when grad_points is set (trilinear), w.r.t. its location
// (each corner's density gradient plus features . feature gradient, times the weight's
// derivative). Each point writes its own rows (zero for masked points).
template <typename T>
struct SplatBackward {
  const T* points;             // (N, P, 3)
  const T* features;           // (N, P, C)
  const uint8_t* mask;         // (N, P)
  const int64_t* grid_sizes;   // (N, 3)
  SplatShape s;
  const T* grad_densities;     // (N, 1, D, H, W)
  const T* grad_volume_features;  // (N, C, D, H, W)
  T* grad_points;              // (N, P, 3) or null
  T* grad_features;            // (N, P, C) or null

  R3D_HD void operator()(int64_t i) const {
    const int64_t n = i / s.P;
    const int64_t V = s.D * s.H * s.W;
    const T* f = features + i * s.C;
    T* gf = grad_features != nullptr ? grad_features + i * s.C : nullptr;
    if (gf != nullptr)
      for (int64_t ch = 0; ch < s.C; ++ch) gf[ch] = T(0);
    T gp[3] = {T(0), T(0), T(0)};
    for_each_splat_corner(points, mask, grid_sizes, s, i, [&](const SplatCorner<T>& c) {
      const T* g = grad_volume_features + n * s.C * V + c.offset;
      const T w = c.weight();
      T source = grad_densities[n * V + c.offset];
      for (int64_t ch = 0; ch < s.C; ++ch) {
        if (gf != nullptr) gf[ch] += w * g[ch * V];
        source += f[ch] * g[ch * V];
      }
      for (int a = 0; a < 3; ++a) {
        const T others = c.w[(a + 1) % 3] * c.w[(a + 2) % 3];
        gp[a] += c.up[a] ? source * others : -(source * others);
      }
    });
    if (grad_points == nullptr) return;
    const int64_t size[3] = {grid_sizes[3 * n + 2], grid_sizes[3 * n + 1], grid_sizes[3 * n]};
    for (int a = 0; a < 3; ++a)
      grad_points[3 * i + a] = gp[a] * splat_location_scale<T>(size[a], s.align_corners);
  }
};

}  // namespace r3d
