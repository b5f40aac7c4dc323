// The Python module r3d._C: thin bindings over the launchers.
//
// Every op takes raw data pointers (as integers), sizes and a dtype name; pointers and shapes are
// validated by r3d's Python bridge, the only caller. The GIL is released while a launcher runs,
// and a failed Status becomes a RuntimeError.
//
// To add an op: write its args-builder below (a function template over the precision T whose
// parameters are the Python arguments and which returns the launcher's arguments as a tuple),
// then add one R3D_BIND_OP line in PYBIND11_MODULE. common/bindings.h has the details.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <omp.h>

#include <array>
#include <cstdint>
#include <tuple>

#include "ball_query/ball_query_launchers.h"
#include "chamfer/chamfer_launchers.h"
#include "common/bindings.h"
#include "common/gpu_bins.h"
#include "common/machine_load.h"
#include "common/macros.h"
#include "compositing/compositing_launchers.h"
#include "cuda/device.h"
#include "graph/graph_launchers.h"
#include "interp_face_attrs/interp_face_attrs_launchers.h"
#include "knn/knn_launchers.h"
#include "marching_cubes/marching_cubes_launchers.h"
#include "mesh_normals/mesh_normals_launchers.h"
#include "packed_padded/packed_padded_launchers.h"
#include "point_mesh/point_mesh_launchers.h"
#include "points_to_volumes/points_to_volumes_launchers.h"
#include "rasterize_meshes/rasterize_meshes_launchers.h"
#include "rasterize_points/rasterize_points_launchers.h"
#include "sample_farthest_points/sample_farthest_points_launchers.h"
#include "voxelize/voxelize_launchers.h"
#include "volume_rendering/volume_rendering_launchers.h"

namespace py = pybind11;
using r3d::Status;
using r3d::binding::ptr;
using r3d::binding::raise_if_failed;
using std::make_tuple;

namespace {

// Settings tuples as passed from Python, and their launcher structs.

// rasterize_meshes: (N, H, W, K, blur_radius, perspective_correct, clip_barycentric_coords,
// cull_backfaces).
using RasterSettingsArgs = std::tuple<int64_t, int64_t, int64_t, int64_t, double, bool, bool, bool>;

r3d::RasterSettings raster_settings(const RasterSettingsArgs& a) {
  return r3d::RasterSettings{std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a),
                             std::get<4>(a), std::get<5>(a), std::get<6>(a), std::get<7>(a)};
}

// rasterize_points: (N, H, W, K).
using PointRasterSettingsArgs = std::tuple<int64_t, int64_t, int64_t, int64_t>;

r3d::PointRasterSettings point_raster_settings(const PointRasterSettingsArgs& a) {
  return r3d::PointRasterSettings{std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a)};
}

// knn_points: (N, P1, P2, D, K, norm).
using KnnShapeArgs = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int>;

r3d::KnnShape knn_shape(const KnnShapeArgs& a) {
  return r3d::KnnShape{std::get<0>(a), std::get<1>(a), std::get<2>(a),
                       std::get<3>(a), std::get<4>(a), std::get<5>(a)};
}

// chamfer: (N, P1, P2, norm, directions).
using ChamferShapeArgs = std::tuple<int64_t, int64_t, int64_t, int, int>;

r3d::ChamferShape chamfer_shape(const ChamferShapeArgs& a) {
  return r3d::ChamferShape{std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a),
                           std::get<4>(a)};
}

// sample_farthest_points: (N, P, D, max_k).
using FpsShapeArgs = std::tuple<int64_t, int64_t, int64_t, int64_t>;

r3d::FpsShape fps_shape(const FpsShapeArgs& a) {
  return r3d::FpsShape{std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a)};
}

// ball_query: (N, P1, P2, D, K).
using BallQueryShapeArgs = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;

r3d::BallQueryShape ball_query_shape(const BallQueryShapeArgs& a) {
  return r3d::BallQueryShape{std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a),
                             std::get<4>(a)};
}

// interpolate_face_attributes: (P, F, D).
using InterpShapeArgs = std::tuple<int64_t, int64_t, int64_t>;

r3d::InterpShape interp_shape(const InterpShapeArgs& a) {
  return {std::get<0>(a), std::get<1>(a), std::get<2>(a)};
}

// point compositing: (N, K, H, W, C, P, mode, channels_last, points_major).
using CompositeShapeArgs =
    std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, bool, bool>;

r3d::CompositeShape composite_shape(const CompositeShapeArgs& a) {
  return {std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a), std::get<4>(a),
          std::get<5>(a), std::get<6>(a), std::get<7>(a), std::get<8>(a)};
}

// marching_cubes: (N, D, H, W, table width).
using McGridArgs = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;

r3d::McGrid mc_grid(const McGridArgs& a) {
  return {std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a), std::get<4>(a)};
}

// points_to_volumes: (N, P, C, D, H, W, align_corners, trilinear).
using SplatShapeArgs =
    std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool, bool>;

r3d::SplatShape splat_shape(const SplatShapeArgs& a) {
  return {std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a),
          std::get<4>(a), std::get<5>(a), std::get<6>(a), std::get<7>(a)};
}

// voxelize: (N, D, H, W).
using VoxelGridArgs = std::tuple<int64_t, int64_t, int64_t, int64_t>;

r3d::VoxelGrid voxel_grid(const VoxelGridArgs& a) {
  return {std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a)};
}

// emission-absorption rendering of grids: (N, R, P, K, D, H, W, channels_last, align_corners,
// surface thickness, eps).
using EaGridShapeArgs = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                                   bool, bool, int64_t, double>;

r3d::EaGridShape ea_grid_shape(const EaGridShapeArgs& a) {
  return {std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a),
          std::get<4>(a), std::get<5>(a), std::get<6>(a), std::get<7>(a),
          std::get<8>(a), std::get<9>(a), std::get<10>(a)};
}

template <typename T>
r3d::EaGridRays<T> ea_grid_rays(uintptr_t grid, uintptr_t origins, uintptr_t directions,
                                uintptr_t lengths, uintptr_t scale, uintptr_t shift,
                                const EaGridShapeArgs& shape) {
  return {ptr<const T>(grid),    ptr<const T>(origins), ptr<const T>(directions),
          ptr<const T>(lengths), ptr<const T>(scale),   ptr<const T>(shift),
          ea_grid_shape(shape)};
}

// Args-builders: the Python arguments of each op (after dtype, before num_threads / stream) to the
// arguments of its launchers r3d::<op>_cpu<T> and r3d::<op>_cuda<T>.

template <typename T>
auto face_areas_normals_forward_args(uintptr_t verts, uintptr_t faces, int64_t num_faces,
                                     uintptr_t areas, uintptr_t normals, double eps) {
  return make_tuple(ptr<const T>(verts), ptr<const int64_t>(faces), num_faces, ptr<T>(areas),
                    ptr<T>(normals), static_cast<T>(eps));
}

template <typename T>
auto face_areas_normals_backward_args(uintptr_t verts, uintptr_t faces, int64_t num_faces,
                                      uintptr_t grad_areas, uintptr_t grad_normals,
                                      uintptr_t grad_corners, double eps) {
  return make_tuple(ptr<const T>(verts), ptr<const int64_t>(faces), num_faces,
                    ptr<const T>(grad_areas), ptr<const T>(grad_normals), ptr<T>(grad_corners),
                    static_cast<T>(eps));
}

template <typename T>
auto packed_padded_args(uintptr_t src, uintptr_t dst, uintptr_t first_idxs, int64_t num_batches,
                        int64_t max_size, int64_t num_packed, int64_t dim, bool to_padded,
                        double fill) {
  return make_tuple(ptr<const T>(src), ptr<T>(dst), ptr<const int64_t>(first_idxs), num_batches,
                    max_size, num_packed, dim, to_padded, static_cast<T>(fill));
}

template <typename T>
auto knn_forward_args(uintptr_t p1, uintptr_t p2, uintptr_t lengths1, uintptr_t lengths2,
                      const KnnShapeArgs& shape, uintptr_t dists, uintptr_t idx) {
  return make_tuple(ptr<const T>(p1), ptr<const T>(p2), ptr<const int64_t>(lengths1),
                    ptr<const int64_t>(lengths2), knn_shape(shape), ptr<T>(dists),
                    ptr<int64_t>(idx));
}

template <typename T>
auto knn_backward_args(uintptr_t p1, uintptr_t p2, uintptr_t lengths1, uintptr_t lengths2,
                       uintptr_t idx, uintptr_t grad_dists, const KnnShapeArgs& shape,
                       uintptr_t grad_p1, uintptr_t grad_pairs) {
  return make_tuple(ptr<const T>(p1), ptr<const T>(p2), ptr<const int64_t>(lengths1),
                    ptr<const int64_t>(lengths2), ptr<const int64_t>(idx),
                    ptr<const T>(grad_dists), knn_shape(shape), ptr<T>(grad_p1),
                    ptr<T>(grad_pairs));
}

template <typename T>
auto chamfer_forward_args(uintptr_t x, uintptr_t y, uintptr_t x_lengths, uintptr_t y_lengths,
                          const ChamferShapeArgs& shape, uintptr_t sums, uintptr_t x_idx,
                          uintptr_t y_idx) {
  return make_tuple(ptr<const T>(x), ptr<const T>(y), ptr<const int64_t>(x_lengths),
                    ptr<const int64_t>(y_lengths), chamfer_shape(shape), ptr<T>(sums),
                    ptr<int32_t>(x_idx), ptr<int32_t>(y_idx));
}

template <typename T>
auto chamfer_backward_args(uintptr_t x, uintptr_t y, uintptr_t x_lengths, uintptr_t y_lengths,
                           uintptr_t x_idx, uintptr_t y_idx, uintptr_t grad_sums,
                           const ChamferShapeArgs& shape, uintptr_t grad_x, uintptr_t grad_y) {
  return make_tuple(ptr<const T>(x), ptr<const T>(y), ptr<const int64_t>(x_lengths),
                    ptr<const int64_t>(y_lengths), ptr<const int32_t>(x_idx),
                    ptr<const int32_t>(y_idx), ptr<const T>(grad_sums), chamfer_shape(shape),
                    ptr<T>(grad_x), ptr<T>(grad_y));
}

template <typename T>
auto sample_farthest_points_args(uintptr_t points, uintptr_t lengths, uintptr_t k,
                                 uintptr_t start, const FpsShapeArgs& shape, uintptr_t closest,
                                 uintptr_t idx) {
  const r3d::FpsArgs<T> args{ptr<const T>(points),     ptr<const int64_t>(lengths),
                             ptr<const int64_t>(k),    ptr<const int64_t>(start),
                             fps_shape(shape),         ptr<T>(closest),
                             ptr<int64_t>(idx)};
  return make_tuple(args);
}

// ball_query: the radius stays a double (the grid is sized in double; the bodies round
// radius * radius to T for the comparisons).
template <typename T>
auto ball_query_forward_args(uintptr_t p1, uintptr_t p2, uintptr_t lengths1, uintptr_t lengths2,
                             const BallQueryShapeArgs& shape, double radius, uintptr_t dists,
                             uintptr_t idx) {
  const r3d::BallQueryArgs<T> args{ptr<const T>(p1),           ptr<const T>(p2),
                                   ptr<const int64_t>(lengths1), ptr<const int64_t>(lengths2),
                                   ball_query_shape(shape),      radius,
                                   ptr<T>(dists),                ptr<int64_t>(idx)};
  return make_tuple(args);
}

// point <-> mesh distances; corners is 2 or 3, point_queries says which side the queries are.
template <typename T>
auto point_mesh_forward_args(uintptr_t points, uintptr_t points_first, int64_t num_points,
                             uintptr_t prims, uintptr_t prims_first, int64_t num_prims,
                             int64_t num_items, double min_area, uintptr_t dists, uintptr_t idx,
                             int corners, bool point_queries) {
  const r3d::PointMeshForwardArgs<T> args{
      ptr<const T>(points), ptr<const int64_t>(points_first), num_points,
      ptr<const T>(prims),  ptr<const int64_t>(prims_first),  num_prims,
      num_items,            static_cast<T>(min_area),         ptr<T>(dists),
      ptr<int64_t>(idx)};
  return make_tuple(args, corners, point_queries);
}

template <typename T>
auto point_mesh_backward_args(uintptr_t points, uintptr_t prims, uintptr_t idx,
                              uintptr_t grad_dists, double min_area, uintptr_t grad_points,
                              uintptr_t grad_prims, int64_t num_queries, int corners,
                              bool point_queries) {
  const r3d::PointMeshBackwardArgs<T> args{
      ptr<const T>(points),     ptr<const T>(prims),      ptr<const int64_t>(idx),
      ptr<const T>(grad_dists), static_cast<T>(min_area), ptr<T>(grad_points),
      ptr<T>(grad_prims)};
  return make_tuple(args, num_queries, corners, point_queries);
}

template <typename T>
auto rasterize_meshes_forward_args(uintptr_t face_verts, uintptr_t face_first,
                                   uintptr_t face_count, const RasterSettingsArgs& settings,
                                   int64_t bin_size, uintptr_t pix_to_face, uintptr_t zbuf,
                                   uintptr_t bary, uintptr_t dists) {
  return make_tuple(ptr<const T>(face_verts), ptr<const int64_t>(face_first),
                    ptr<const int64_t>(face_count), raster_settings(settings), bin_size,
                    ptr<int64_t>(pix_to_face), ptr<T>(zbuf), ptr<T>(bary), ptr<T>(dists));
}

template <typename T>
auto rasterize_meshes_backward_args(uintptr_t face_verts, uintptr_t pix_to_face,
                                    uintptr_t grad_zbuf, uintptr_t grad_bary,
                                    uintptr_t grad_dists, const RasterSettingsArgs& settings,
                                    int64_t num_faces, uintptr_t grad_face_verts) {
  return make_tuple(ptr<const T>(face_verts), ptr<const int64_t>(pix_to_face),
                    ptr<const T>(grad_zbuf), ptr<const T>(grad_bary), ptr<const T>(grad_dists),
                    raster_settings(settings), num_faces, ptr<T>(grad_face_verts));
}

template <typename T>
auto rasterize_points_forward_args(uintptr_t points, uintptr_t radius, uintptr_t cloud_first,
                                   uintptr_t cloud_count, const PointRasterSettingsArgs& settings,
                                   int64_t bin_size, uintptr_t idx, uintptr_t zbuf,
                                   uintptr_t dists) {
  return make_tuple(ptr<const T>(points), ptr<const T>(radius), ptr<const int64_t>(cloud_first),
                    ptr<const int64_t>(cloud_count), point_raster_settings(settings), bin_size,
                    ptr<int64_t>(idx), ptr<T>(zbuf), ptr<T>(dists));
}

template <typename T>
auto rasterize_points_backward_args(uintptr_t points, uintptr_t idx, uintptr_t grad_zbuf,
                                    uintptr_t grad_dists, const PointRasterSettingsArgs& settings,
                                    int64_t num_points, uintptr_t grad_points) {
  return make_tuple(ptr<const T>(points), ptr<const int64_t>(idx), ptr<const T>(grad_zbuf),
                    ptr<const T>(grad_dists), point_raster_settings(settings), num_points,
                    ptr<T>(grad_points));
}

// interpolate_face_attributes; code is the address of an int32 code.
template <typename T>
auto interp_face_attrs_forward_args(uintptr_t pix_to_face, uintptr_t bary, uintptr_t attrs,
                                    const InterpShapeArgs& shape, uintptr_t out, uintptr_t code) {
  const r3d::InterpFaceAttrsForward<T> body{ptr<const int64_t>(pix_to_face), ptr<const T>(bary),
                                            ptr<const T>(attrs), interp_shape(shape),
                                            ptr<T>(out)};
  return make_tuple(body, ptr<int32_t>(code));
}

template <typename T>
auto interp_face_attrs_backward_args(uintptr_t pix_to_face, uintptr_t bary, uintptr_t attrs,
                                     uintptr_t grad_out, const InterpShapeArgs& shape,
                                     uintptr_t grad_bary, uintptr_t grad_attrs_per_slot,
                                     uintptr_t code) {
  const r3d::InterpFaceAttrsBackward<T> body{
      ptr<const int64_t>(pix_to_face), ptr<const T>(bary),  ptr<const T>(attrs),
      ptr<const T>(grad_out),          interp_shape(shape), ptr<T>(grad_bary),
      ptr<T>(grad_attrs_per_slot)};
  return make_tuple(body, ptr<int32_t>(code));
}

// point compositing; the forward's code is the address of an int32 code.
template <typename T>
auto composite_forward_args(uintptr_t pointsidx, uintptr_t alphas, uintptr_t features,
                            const CompositeShapeArgs& shape, uintptr_t out, uintptr_t code) {
  const r3d::CompositeForward<T> body{ptr<const int64_t>(pointsidx), ptr<const T>(alphas),
                                      ptr<const T>(features), composite_shape(shape),
                                      ptr<T>(out)};
  return make_tuple(body, ptr<int32_t>(code));
}

template <typename T>
auto composite_backward_args(uintptr_t pointsidx, uintptr_t alphas, uintptr_t features,
                             uintptr_t grad_out, const CompositeShapeArgs& shape,
                             uintptr_t grad_alphas, uintptr_t grad_features) {
  const r3d::CompositeBackward<T> body{
      ptr<const int64_t>(pointsidx), ptr<const T>(alphas),   ptr<const T>(features),
      ptr<const T>(grad_out),        composite_shape(shape), ptr<T>(grad_alphas),
      ptr<T>(grad_features)};
  return make_tuple(body);
}

template <typename T>
auto ea_grid_forward_args(uintptr_t grid, uintptr_t origins, uintptr_t directions,
                          uintptr_t lengths, uintptr_t scale, uintptr_t shift,
                          const EaGridShapeArgs& shape, uintptr_t features,
                          uintptr_t opacities, uintptr_t ray_densities) {
  const r3d::EaGridForward<T> body{
      ea_grid_rays<T>(grid, origins, directions, lengths, scale, shift, shape),
      ptr<T>(features), ptr<T>(opacities), ptr<T>(ray_densities)};
  return make_tuple(body);
}

template <typename T>
auto ea_grid_backward_args(uintptr_t grid, uintptr_t origins, uintptr_t directions,
                           uintptr_t lengths, uintptr_t scale, uintptr_t shift,
                           const EaGridShapeArgs& shape, uintptr_t ray_densities,
                           uintptr_t grad_features, uintptr_t grad_opacities,
                           uintptr_t grad_grid, uintptr_t scratch) {
  const r3d::EaGridBackward<T> body{
      ea_grid_rays<T>(grid, origins, directions, lengths, scale, shift, shape),
      ptr<const T>(ray_densities), ptr<const T>(grad_features), ptr<const T>(grad_opacities),
      ptr<T>(grad_grid), ptr<T>(scratch)};
  return make_tuple(body);
}

template <typename T>
auto marching_cubes_count_args(uintptr_t vol, uintptr_t levels, uintptr_t table,
                               const McGridArgs& grid, uintptr_t crossed, uintptr_t tris) {
  const r3d::MarchingCubesCount<T> body{ptr<const T>(vol),  ptr<const T>(levels),
                                        ptr<const int64_t>(table), mc_grid(grid),
                                        ptr<uint8_t>(crossed), ptr<uint8_t>(tris)};
  return make_tuple(body);
}

template <typename T>
auto marching_cubes_emit_args(uintptr_t vol, uintptr_t levels, uintptr_t table,
                              const McGridArgs& grid, uintptr_t vert_end, uintptr_t tri_end,
                              uintptr_t verts, uintptr_t faces) {
  const r3d::MarchingCubesEmit<T> body{
      ptr<const T>(vol), ptr<const T>(levels),         ptr<const int64_t>(table),
      mc_grid(grid),     ptr<const int64_t>(vert_end), ptr<const int64_t>(tri_end),
      ptr<T>(verts),     ptr<int64_t>(faces)};
  return make_tuple(body);
}

// points_to_volumes; densities and volume_features hold the initial volumes, added into.
template <typename T>
auto points_to_volumes_forward_args(uintptr_t points, uintptr_t features, uintptr_t mask,
                                    uintptr_t grid_sizes, const SplatShapeArgs& shape,
                                    uintptr_t densities, uintptr_t volume_features) {
  const r3d::SplatForward<T> body{ptr<const T>(points),       ptr<const T>(features),
                                  ptr<const uint8_t>(mask),   ptr<const int64_t>(grid_sizes),
                                  splat_shape(shape),         ptr<T>(densities),
                                  ptr<T>(volume_features),    0,
                                  0};
  return make_tuple(body);
}

// grad_points and grad_features may be 0 (not computed).
template <typename T>
auto points_to_volumes_backward_args(uintptr_t points, uintptr_t features, uintptr_t mask,
                                     uintptr_t grid_sizes, const SplatShapeArgs& shape,
                                     uintptr_t grad_densities, uintptr_t grad_volume_features,
                                     uintptr_t grad_points, uintptr_t grad_features) {
  const r3d::SplatBackward<T> body{
      ptr<const T>(points),         ptr<const T>(features),
      ptr<const uint8_t>(mask),     ptr<const int64_t>(grid_sizes),
      splat_shape(shape),           ptr<const T>(grad_densities),
      ptr<const T>(grad_volume_features), ptr<T>(grad_points),
      ptr<T>(grad_features)};
  return make_tuple(body);
}

template <typename T>
auto voxelize_crossings_args(uintptr_t xy, uintptr_t z, uintptr_t face_item, int64_t num_faces,
                             const VoxelGridArgs& grid, uintptr_t flips) {
  const r3d::VoxelizeCrossings<T> body{ptr<const int64_t>(xy), ptr<const T>(z),
                                       ptr<const int64_t>(face_item), num_faces,
                                       voxel_grid(grid), ptr<int32_t>(flips)};
  return make_tuple(body);
}

template <typename T>
auto voxelize_fill_args(uintptr_t flips, const VoxelGridArgs& grid, uintptr_t occupancy) {
  const r3d::VoxelizeFill<T> body{ptr<const int32_t>(flips), voxel_grid(grid),
                                  ptr<T>(occupancy)};
  return make_tuple(body);
}

template <typename T>
auto csr_gather_sum_args(uintptr_t x, uintptr_t row_ptr, uintptr_t col, int64_t rows,
                         int64_t dim, uintptr_t out) {
  return make_tuple(ptr<const T>(x), ptr<const int64_t>(row_ptr), ptr<const int64_t>(col), rows,
                    dim, ptr<T>(out));
}

// Kernels over the (n, 3) rows of verts indexed by an int64 table (edges or face-pair quads):
// launcher(verts, index, n, scalar, out) and launcher(verts, index, n, grad, scalar, out).
template <typename T>
auto indexed_forward_args(uintptr_t verts, uintptr_t index, int64_t n, double scalar,
                          uintptr_t out) {
  return make_tuple(ptr<const T>(verts), ptr<const int64_t>(index), n, static_cast<T>(scalar),
                    ptr<T>(out));
}

template <typename T>
auto indexed_backward_args(uintptr_t verts, uintptr_t index, int64_t n, uintptr_t grad,
                           double scalar, uintptr_t out) {
  return make_tuple(ptr<const T>(verts), ptr<const int64_t>(index), n, ptr<const T>(grad),
                    static_cast<T>(scalar), ptr<T>(out));
}

// face_pairs has no dtype (int64 only).
auto face_pairs_args(uintptr_t edges, uintptr_t row_ptr, uintptr_t order, uintptr_t corners,
                     uintptr_t pair_first, int64_t num_edges, uintptr_t quads,
                     uintptr_t pair_edge) {
  return make_tuple(ptr<const int64_t>(edges), ptr<const int64_t>(row_ptr),
                    ptr<const int64_t>(order), ptr<const int64_t>(corners),
                    ptr<const int64_t>(pair_first), num_edges, ptr<int64_t>(quads),
                    ptr<int64_t>(pair_edge));
}

}  // namespace

#ifdef R3D_WITH_CUDA
#define R3D_CUDA_CALL(expr) (expr)
#else
#define R3D_CUDA_CALL(expr) r3d::binding::no_cuda()
#endif

PYBIND11_MODULE(_C, m) {
  m.doc() = "r3d native kernels (CPU with OpenMP; CUDA when built with nvcc)";
  m.attr("with_cuda") = r3d::binding::kWithCuda;

  m.def("cuda_device_count", []() {
    int count = 0;
#ifdef R3D_WITH_CUDA
    Status s = r3d::cuda_device_count(&count);
    if (s.failed()) return 0;
#endif
    return count;
  });
  m.def("usable_threads", &r3d::usable_threads, py::arg("requested"),
        "Threads a CPU launcher's team takes now for `requested` wanted: no more than the cores "
        "other processes leave idle (common/machine_load.h).");
  m.def("threads_for_load", &r3d::threads_for_load, py::arg("requested"), py::arg("others"),
        py::arg("cpus"),
        "Threads a team takes for `requested` wanted when `others` runnable threads of other "
        "processes share `cpus` cores (at least 1).");
  m.def("build_info", []() {
    py::dict info;
    info["with_cuda"] = r3d::binding::kWithCuda;
    info["openmp"] = _OPENMP;
    info["omp_max_threads"] = omp_get_max_threads();
    info["compiler"] = R3D_CXX_COMPILER;
#ifdef R3D_WITH_CUDA
    info["cuda_version"] = R3D_CUDA_VERSION;
    info["cuda_architectures"] = R3D_CUDA_ARCHITECTURES;
#else
    info["cuda_version"] = py::none();
    info["cuda_architectures"] = py::none();
#endif
#ifdef R3D_SANITIZE
    info["sanitize"] = R3D_SANITIZE;
#else
    info["sanitize"] = py::none();
#endif
    return info;
  });
  m.def("cuda_driver_version", []() {
    int version = 0;
#ifdef R3D_WITH_CUDA
    raise_if_failed(r3d::cuda_driver_version(&version));
#endif
    return version;
  });
  m.def("cuda_get_device", []() {
    int index = 0;
    raise_if_failed(R3D_CUDA_CALL(r3d::cuda_get_device(&index)));
    return index;
  });
  m.def("cuda_set_device", [](int index) {
    (void)index;
    raise_if_failed(R3D_CUDA_CALL(r3d::cuda_set_device(index)));
  });
  m.def("cuda_stream_synchronize", [](uintptr_t stream) {
    (void)stream;
    raise_if_failed(R3D_CUDA_CALL(r3d::cuda_stream_synchronize(stream)));
  });

  // <op>_cpu(dtype, <args of the builder>..., num_threads), <op>_cuda(dtype, ..., stream).
  R3D_BIND_OP(m, face_areas_normals_forward, face_areas_normals_forward_args);
  R3D_BIND_OP(m, face_areas_normals_backward, face_areas_normals_backward_args);
  R3D_BIND_OP(m, packed_padded, packed_padded_args);
  R3D_BIND_OP(m, knn_forward, knn_forward_args);
  R3D_BIND_OP(m, knn_backward, knn_backward_args);
  R3D_BIND_OP(m, sample_farthest_points, sample_farthest_points_args);
  R3D_BIND_OP(m, ball_query_forward, ball_query_forward_args);
  R3D_BIND_OP(m, point_mesh_forward, point_mesh_forward_args);
  R3D_BIND_OP(m, point_mesh_backward, point_mesh_backward_args);
  R3D_BIND_OP(m, rasterize_meshes_forward, rasterize_meshes_forward_args);
  R3D_BIND_OP(m, rasterize_meshes_backward, rasterize_meshes_backward_args);
  R3D_BIND_OP(m, rasterize_points_forward, rasterize_points_forward_args);
  R3D_BIND_OP(m, rasterize_points_backward, rasterize_points_backward_args);
  R3D_BIND_OP(m, interp_face_attrs_forward, interp_face_attrs_forward_args);
  R3D_BIND_OP(m, interp_face_attrs_backward, interp_face_attrs_backward_args);
  R3D_BIND_OP(m, composite_forward, composite_forward_args);
  R3D_BIND_OP(m, composite_backward, composite_backward_args);
  R3D_BIND_OP(m, ea_grid_forward, ea_grid_forward_args);
  R3D_BIND_OP(m, ea_grid_backward, ea_grid_backward_args);
  R3D_BIND_OP(m, marching_cubes_count, marching_cubes_count_args);
  R3D_BIND_OP(m, marching_cubes_emit, marching_cubes_emit_args);
  R3D_BIND_OP(m, voxelize_crossings, voxelize_crossings_args);
  R3D_BIND_OP(m, voxelize_fill, voxelize_fill_args);
  R3D_BIND_OP(m, csr_gather_sum, csr_gather_sum_args);
  R3D_BIND_OP(m, points_to_volumes_forward, points_to_volumes_forward_args);
  R3D_BIND_OP(m, points_to_volumes_backward, points_to_volumes_backward_args);
  R3D_BIND_OP(m, edge_loss_forward, indexed_forward_args);
  R3D_BIND_OP(m, edge_loss_backward, indexed_backward_args);
  R3D_BIND_OP(m, normal_consistency_forward, indexed_forward_args);
  R3D_BIND_OP(m, normal_consistency_backward, indexed_backward_args);

  // <op>_cpu(<args of the builder>..., num_threads), <op>_cuda(..., stream): no dtype.
  R3D_BIND_UNTYPED_OP(m, face_pairs, face_pairs_args);

  // CPU only (CUDA callers run knn_points): chamfer_{forward,backward}_cpu(dtype, ...,
  // num_threads).
  r3d::binding::def_typed<int>(m, "chamfer_forward_cpu", &chamfer_forward_args<float>,
                               &chamfer_forward_args<double>,
                               R3D_LAUNCHER(r3d::chamfer_forward_cpu));
  r3d::binding::def_typed<int>(m, "chamfer_backward_cpu", &chamfer_backward_args<float>,
                               &chamfer_backward_args<double>,
                               R3D_LAUNCHER(r3d::chamfer_backward_cpu));

  // CPU only: the CUDA launchers' schedules run on the host, for tests; same arguments as
  // knn_forward_cpu, rasterize_{meshes,points}_{forward,backward}_cpu, point_mesh_forward_cpu,
  // sample_farthest_points_cpu and ball_query_forward_cpu.
  r3d::binding::def_typed<int>(m, "knn_forward_emulated_cpu", &knn_forward_args<float>,
                               &knn_forward_args<double>,
                               R3D_LAUNCHER(r3d::knn_forward_emulated));
  r3d::binding::def_typed<int>(m, "rasterize_meshes_forward_emulated_cpu",
                               &rasterize_meshes_forward_args<float>,
                               &rasterize_meshes_forward_args<double>,
                               R3D_LAUNCHER(r3d::rasterize_meshes_forward_emulated));
  r3d::binding::def_typed<int>(m, "rasterize_meshes_backward_emulated_cpu",
                               &rasterize_meshes_backward_args<float>,
                               &rasterize_meshes_backward_args<double>,
                               R3D_LAUNCHER(r3d::rasterize_meshes_backward_emulated));
  r3d::binding::def_typed<int>(m, "rasterize_points_forward_emulated_cpu",
                               &rasterize_points_forward_args<float>,
                               &rasterize_points_forward_args<double>,
                               R3D_LAUNCHER(r3d::rasterize_points_forward_emulated));
  r3d::binding::def_typed<int>(m, "rasterize_points_backward_emulated_cpu",
                               &rasterize_points_backward_args<float>,
                               &rasterize_points_backward_args<double>,
                               R3D_LAUNCHER(r3d::rasterize_points_backward_emulated));
  r3d::binding::def_typed<int>(m, "point_mesh_forward_emulated_cpu",
                               &point_mesh_forward_args<float>, &point_mesh_forward_args<double>,
                               R3D_LAUNCHER(r3d::point_mesh_forward_emulated));
  r3d::binding::def_typed<int>(m, "sample_farthest_points_emulated_cpu",
                               &sample_farthest_points_args<float>,
                               &sample_farthest_points_args<double>,
                               R3D_LAUNCHER(r3d::sample_farthest_points_emulated));
  r3d::binding::def_typed<int>(m, "ball_query_forward_emulated_cpu",
                               &ball_query_forward_args<float>, &ball_query_forward_args<double>,
                               R3D_LAUNCHER(r3d::ball_query_forward_emulated));

  // The GPU rasterisers' choice of bin side (common/gpu_bins.h), for tests: touched holds the
  // bins touched by all elements at each candidate side (8, 16, 32).
  m.def("gpu_bin_side", [](int64_t bin_size, int64_t N, int64_t H, int64_t W,
                           const std::array<int64_t, r3d::kNumGpuBinSides>& touched) {
    return r3d::gpu_bin_side(bin_size, N, H, W, touched.data());
  });

  // CPU only (CUDA callers sort): group_by_key_cpu(keys, num_keys, num_rows, ptr_out, order).
  m.def("group_by_key_cpu", [](uintptr_t keys, int64_t num_keys, int64_t num_rows,
                               uintptr_t ptr_out, uintptr_t order) {
    r3d::binding::call_released([&] {
      return r3d::group_by_key_cpu(ptr<const int64_t>(keys), num_keys, num_rows,
                                   ptr<int64_t>(ptr_out), ptr<int64_t>(order));
    });
  });
}
