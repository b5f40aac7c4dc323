// Per-element bodies of voxelize_meshes, shared by CPU and CUDA (the algorithm and its tie rules
// are documented in r3d/ops/voxelize.py, whose pure-PyTorch twin computes the same values).
//   crossings (one face f): for every column (j, i) of its mesh's grid whose line x = i + 1/2,
//     y = j + 1/2 (grid units) the face covers, toggles flips[n, k, j, i] at the first voxel k
//     whose centre lies at or above the crossing (none when that is past the top).
//   fill (one column, or one row of columns): occupancy[n, k, j, i] = parity of
//     flips[n, 0..k, j, i].
// The faces come snapped: x, y int64 in kVoxelSnap steps per voxel, so the edge functions below
// are exact (|x|, |y| <= 2^28 as the caller checks: products stay below 2^59).
#pragma once

#include <cmath>
#include <cstdint>

#include "common/accumulate.h"
#include "common/exact_math.h"
#include "common/macros.h"

namespace r3d {

constexpr int64_t kVoxelSnap = 256;  // fixed-point steps per voxel (SNAP in r3d/ops/voxelize.py)

struct VoxelGrid {
  int64_t N, D, H, W;  // grids of D x H x W voxels (z, y, x)
};

R3D_HD inline int64_t voxel_floor_div(int64_t a, int64_t b) {  // b > 0
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

// The side (+1 / -1) of the line through p of the edge from b to c, after moving p by
// (e, e^2), e > 0 infinitesimal; e = the exact edge function, corner a's barycentric weight
// times twice the area. b != c.
R3D_HD inline int voxel_edge_side(const int64_t* b, const int64_t* c, int64_t px, int64_t py,
                                  int64_t* e) {
  const int64_t dx = c[0] - b[0], dy = c[1] - b[1];
  *e = dx * (py - b[1]) - dy * (px - b[0]);
  if (*e != 0) return *e > 0 ? 1 : -1;
  if (dy != 0) return dy < 0 ? 1 : -1;
  return dx > 0 ? 1 : -1;
}

template <typename T>
struct VoxelizeCrossings {
  const int64_t* xy;         // (F, 3, 2) snapped x, y of each face's corners
  const T* z;                // (F, 3) z of each face's corners (grid units)
  const int64_t* face_item;  // (F,) mesh of each face, in [0, N)
  int64_t num_faces;         // F
  VoxelGrid g;
  int32_t* flips;            // (N, D, H, W), zeroed by the caller

  R3D_HD void operator()(int64_t f) const {
    const int64_t* v = xy + 6 * f;
    const int64_t area = (v[2] - v[0]) * (v[5] - v[1]) - (v[3] - v[1]) * (v[4] - v[0]);
    if (area == 0) return;  // parallel to the lines
    const int sign = area > 0 ? 1 : -1;
    const int64_t half = kVoxelSnap / 2;
    int64_t lo[2], hi[2];
    for (int a = 0; a < 2; ++a) {
      const int64_t mn = v[a] < v[2 + a] ? (v[a] < v[4 + a] ? v[a] : v[4 + a])
                                         : (v[2 + a] < v[4 + a] ? v[2 + a] : v[4 + a]);
      const int64_t mx = v[a] > v[2 + a] ? (v[a] > v[4 + a] ? v[a] : v[4 + a])
                                         : (v[2 + a] > v[4 + a] ? v[2 + a] : v[4 + a]);
      const int64_t last = (a == 0 ? g.W : g.H) - 1;
      const int64_t first = -voxel_floor_div(half - mn, kVoxelSnap);
      const int64_t end = voxel_floor_div(mx - half, kVoxelSnap);
      lo[a] = first > 0 ? first : 0;
      hi[a] = end < last ? end : last;
    }
    const T* zf = z + 3 * f;
    const T d1 = zf[1] - zf[0], d2 = zf[2] - zf[0];
    const int64_t n = face_item[f];
    for (int64_t j = lo[1]; j <= hi[1]; ++j) {
      for (int64_t i = lo[0]; i <= hi[0]; ++i) {
        const int64_t px = i * kVoxelSnap + half, py = j * kVoxelSnap + half;
        int64_t e[3];
        bool inside = true;
        for (int k = 0; k < 3 && inside; ++k)
          inside = voxel_edge_side(v + 2 * ((k + 1) % 3), v + 2 * ((k + 2) % 3), px, py, &e[k]) ==
                   sign;
        if (!inside) continue;
        const T sum = add_rn(mul_rn(static_cast<T>(e[1]), d1), mul_rn(static_cast<T>(e[2]), d2));
        const T depth = add_rn(zf[0], sum / static_cast<T>(area));
        T u = depth - T(0.5);
        u = u < T(-1) ? T(-1) : u;
        u = u > static_cast<T>(g.D) ? static_cast<T>(g.D) : u;
        int64_t k = static_cast<int64_t>(ceil(u));
        k = k > 0 ? k : 0;
        if (k < g.D) atomic_xor(flips + ((n * g.D + k) * g.H + j) * g.W + i, 1);
      }
    }
  }
};

template <typename T>
struct VoxelizeFill {
  const int32_t* flips;  // (N, D, H, W)
  VoxelGrid g;
  T* occupancy;          // (N, D, H, W)

  // Voxel `at` of layer k: the parity of its flip and of the voxel below (layer k - 1).
  R3D_HD void voxel(int64_t at, int64_t k) const {
    const bool below = k > 0 && occupancy[at - g.H * g.W] != T(0);
    occupancy[at] = static_cast<T>(below != ((flips[at] & 1) != 0));
  }

  // One column (GPU: a thread per column, neighbours in x side by side in memory).
  R3D_HD void operator()(int64_t column) const {  // column in [0, N * H * W)
    const int64_t plane = g.H * g.W;
    const int64_t first = column / plane * g.D * plane + column % plane;
    for (int64_t k = 0; k < g.D; ++k) voxel(first + k * plane, k);
  }

  // The W columns of one row (CPU: layer by layer, each a contiguous run of memory).
  R3D_HD void row(int64_t r) const {  // r in [0, N * H)
    const int64_t plane = g.H * g.W;
    const int64_t first = r / g.H * g.D * plane + r % g.H * g.W;
    for (int64_t k = 0; k < g.D; ++k)
      for (int64_t i = 0; i < g.W; ++i) voxel(first + k * plane + i, k);
  }
};

}  // namespace r3d
