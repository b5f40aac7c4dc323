// Per-grid-point bodies of marching_cubes, shared by CPU and CUDA. Two passes over the N * D *
// H * W grid points p (x fastest), with a prefix sum in between (done by the caller):
//   count: crossed[3 p + a] = 1 when the grid edge from p one step along axis a (0: x, 1: y,
//          2: z) joins values on both sides of the isolevel (below it: inside); tris[p] = the
//          number of triangles of the cell whose lowest corner is p (0 past the last cell).
//   emit:  with vert_end / tri_end the inclusive prefix sums of crossed / tris, writes the vertex
//          of every crossed edge (in grid units, (x, y, z)) at row vert_end - 1, and the
//          triangles of every cell from row tri_end[p] - tris[p], as global vertex rows.
// The case table (256, T, 3) lists each case's triangles as edge codes 3 * corner + axis
// (corner c at offset (c & 1, c >> 1 & 1, c >> 2 & 1)), -1 after the last triangle; bit c of a
// case is set when corner c is inside. It is built and documented in
// r3d/ops/marching_cubes_table.py.
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace r3d {

struct McGrid {
  int64_t N, D, H, W;
  int64_t table_width;  // T, triangles per table row

  R3D_HD int64_t corner_offset(int c) const {
    return (c & 1) + (c >> 1 & 1) * W + (c >> 2 & 1) * H * W;
  }
  R3D_HD int64_t axis_step(int a) const { return a == 0 ? 1 : (a == 1 ? W : H * W); }
  // whether p + one step along each axis stays in p's volume
  R3D_HD void has_next(int64_t p, bool next[3]) const {
    const int64_t x = p % W, y = p / W % H, z = p / (W * H) % D;
    next[0] = x + 1 < W;
    next[1] = y + 1 < H;
    next[2] = z + 1 < D;
  }
};

template <typename T>
R3D_HD inline int mc_case(const T* vol, int64_t p, T level, const McGrid& g) {
  int c = 0;
  for (int k = 0; k < 8; ++k) c |= (vol[p + g.corner_offset(k)] < level) << k;
  return c;
}

R3D_HD inline int mc_num_tris(const int64_t* row, const McGrid& g) {
  int n = 0;
  while (n < g.table_width && row[3 * n] >= 0) ++n;
  return n;
}

template <typename T>
struct MarchingCubesCount {
  const T* vol;            // (N, D, H, W)
  const T* levels;         // (N,)
  const int64_t* table;    // (256, T, 3)
  McGrid g;
  uint8_t* crossed;        // (N * D * H * W * 3,)
  uint8_t* tris;           // (N * D * H * W,)

  R3D_HD void operator()(int64_t p) const {
    const T level = levels[p / (g.D * g.H * g.W)];
    const bool in = vol[p] < level;
    bool next[3];
    g.has_next(p, next);
    for (int a = 0; a < 3; ++a)
      crossed[3 * p + a] = next[a] && ((vol[p + g.axis_step(a)] < level) != in);
    const bool cell = next[0] && next[1] && next[2];
    const int c = cell ? mc_case(vol, p, level, g) : 0;
    tris[p] = static_cast<uint8_t>(mc_num_tris(table + c * g.table_width * 3, g));
  }
};

template <typename T>
struct MarchingCubesEmit {
  const T* vol;              // (N, D, H, W)
  const T* levels;           // (N,)
  const int64_t* table;      // (256, T, 3)
  McGrid g;
  const int64_t* vert_end;   // (N * D * H * W * 3,)
  const int64_t* tri_end;    // (N * D * H * W,)
  T* verts;                  // (V, 3)
  int64_t* faces;            // (F, 3)

  R3D_HD void operator()(int64_t p) const {
    const T level = levels[p / (g.D * g.H * g.W)];
    const int64_t x = p % g.W, y = p / g.W % g.H, z = p / (g.W * g.H) % g.D;
    for (int a = 0; a < 3; ++a) {
      const int64_t e = 3 * p + a;
      if (vert_end[e] == (e > 0 ? vert_end[e - 1] : 0)) continue;  // edge not crossed
      const T va = vol[p], vb = vol[p + g.axis_step(a)];
      const T t = (level - va) / (vb - va);
      T* v = verts + 3 * (vert_end[e] - 1);
      v[0] = T(x) + (a == 0 ? t : T(0));
      v[1] = T(y) + (a == 1 ? t : T(0));
      v[2] = T(z) + (a == 2 ? t : T(0));
    }
    const int64_t count = tri_end[p] - (p > 0 ? tri_end[p - 1] : 0);
    if (count == 0) return;
    const int64_t* row = table + mc_case(vol, p, level, g) * g.table_width * 3;
    int64_t* out = faces + 3 * (tri_end[p] - count);
    for (int64_t i = 0; i < 3 * count; ++i) {
      const int code = static_cast<int>(row[i]);
      out[i] = vert_end[3 * (p + g.corner_offset(code / 3)) + code % 3] - 1;
    }
  }
};

}  // namespace r3d
