// The Python module r3d._C: thin bindings over the launchers.
//
// Every function takes raw data pointers (as integers), sizes and a dtype name. Pointers and
// shapes are validated by r3d/_ext.py, the only caller. The GIL is released while a launcher runs,
// and a failed Status becomes a RuntimeError.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>

#include "common/macros.h"
#include "compositing/compositing_launchers.h"
#include "cuda/device.h"
#include "graph/graph_launchers.h"
#include "mesh_normals/mesh_normals_launchers.h"
#include "interp_face_attrs/interp_face_attrs_launchers.h"
#include "knn/knn_launchers.h"
#include "marching_cubes/marching_cubes_launchers.h"
#include "packed_padded/packed_padded_launchers.h"
#include "point_mesh/point_mesh_launchers.h"
#include "rasterize_meshes/rasterize_meshes_launchers.h"
#include "rasterize_points/rasterize_points_launchers.h"

namespace py = pybind11;
using r3d::Status;

namespace {

void raise_if_failed(const Status& s) {
  if (s.failed()) throw std::runtime_error(std::string("r3d native kernel failed: ") + s.message);
}

template <typename T>
T* ptr(uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

// Calls fn.template operator()<T>() with T = float or double according to dtype.
template <typename Fn>
Status dispatch_float(const std::string& dtype, const Fn& fn) {
  if (dtype == "float32") return fn(float{});
  if (dtype == "float64") return fn(double{});
  throw std::invalid_argument("r3d native kernels support float32 and float64, got " + dtype);
}

template <typename Fn>
void run(const std::string& dtype, const Fn& fn) {
  Status s;
  {
    py::gil_scoped_release release;
    s = dispatch_float(dtype, fn);
  }
  raise_if_failed(s);
}

#ifdef R3D_WITH_CUDA
constexpr bool kWithCuda = true;
#define R3D_CUDA_CALL(expr) (expr)
#else
constexpr bool kWithCuda = false;
#define R3D_CUDA_CALL(expr) Status::error("r3d was built without CUDA launchers")
#endif

template <typename T>
r3d::PointMeshForwardArgs<T> point_mesh_forward_args(uintptr_t points, uintptr_t points_first,
                                                     int64_t num_points, uintptr_t prims,
                                                     uintptr_t prims_first, int64_t num_prims,
                                                     int64_t num_items, double min_area,
                                                     uintptr_t dists, uintptr_t idx) {
  return {ptr<const T>(points), ptr<const int64_t>(points_first), num_points,
          ptr<const T>(prims),  ptr<const int64_t>(prims_first),  num_prims,
          num_items,            static_cast<T>(min_area),         ptr<T>(dists),
          ptr<int64_t>(idx)};
}

template <typename T>
r3d::PointMeshBackwardArgs<T> point_mesh_backward_args(uintptr_t points, uintptr_t prims,
                                                       uintptr_t idx, uintptr_t grad_dists,
                                                       double min_area, uintptr_t grad_points,
                                                       uintptr_t grad_prims) {
  return {ptr<const T>(points),     ptr<const T>(prims),      ptr<const int64_t>(idx),
          ptr<const T>(grad_dists), static_cast<T>(min_area), ptr<T>(grad_points),
          ptr<T>(grad_prims)};
}

// rasterize_meshes settings as passed from Python: (N, H, W, K, blur_radius, perspective_correct,
// clip_barycentric_coords, cull_backfaces).
using RasterSettingsArgs = std::tuple<int64_t, int64_t, int64_t, int64_t, double, bool, bool, bool>;

r3d::RasterSettings raster_settings(const RasterSettingsArgs& a) {
  return r3d::RasterSettings{std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a),
                             std::get<4>(a), std::get<5>(a), std::get<6>(a), std::get<7>(a)};
}

// rasterize_points settings as passed from Python: (N, H, W, K).
using PointRasterSettingsArgs = std::tuple<int64_t, int64_t, int64_t, int64_t>;

r3d::PointRasterSettings point_raster_settings(const PointRasterSettingsArgs& a) {
  return r3d::PointRasterSettings{std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a)};
}

// interpolate_face_attributes: (pix_to_face, bary, attrs, (P, F, D), out or grads).
using InterpShapeArgs = std::tuple<int64_t, int64_t, int64_t>;

r3d::InterpShape interp_shape(const InterpShapeArgs& a) {
  return {std::get<0>(a), std::get<1>(a), std::get<2>(a)};
}

template <typename T>
r3d::InterpFaceAttrsForward<T> interp_forward_body(uintptr_t pix_to_face, uintptr_t bary,
                                                   uintptr_t attrs, const InterpShapeArgs& shape,
                                                   uintptr_t out) {
  return {ptr<const int64_t>(pix_to_face), ptr<const T>(bary), ptr<const T>(attrs),
          interp_shape(shape), ptr<T>(out)};
}

template <typename T>
r3d::InterpFaceAttrsBackward<T> interp_backward_body(uintptr_t pix_to_face, uintptr_t bary,
                                                     uintptr_t attrs, uintptr_t grad_out,
                                                     const InterpShapeArgs& shape,
                                                     uintptr_t grad_bary,
                                                     uintptr_t grad_attrs_per_slot) {
  return {ptr<const int64_t>(pix_to_face), ptr<const T>(bary),        ptr<const T>(attrs),
          ptr<const T>(grad_out),          interp_shape(shape),       ptr<T>(grad_bary),
          ptr<T>(grad_attrs_per_slot)};
}

// point compositing: (N, K, H, W, C, P, mode, channels_last, points_major).
using CompositeShapeArgs =
    std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int, bool, bool>;

r3d::CompositeShape composite_shape(const CompositeShapeArgs& a) {
  return {std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a), std::get<4>(a),
          std::get<5>(a), std::get<6>(a), std::get<7>(a), std::get<8>(a)};
}

template <typename T>
r3d::CompositeForward<T> composite_forward_body(uintptr_t pointsidx, uintptr_t alphas,
                                                uintptr_t features,
                                                const CompositeShapeArgs& shape, uintptr_t out) {
  return {ptr<const int64_t>(pointsidx), ptr<const T>(alphas), ptr<const T>(features),
          composite_shape(shape), ptr<T>(out)};
}

template <typename T>
r3d::CompositeBackward<T> composite_backward_body(uintptr_t pointsidx, uintptr_t alphas,
                                                  uintptr_t features, uintptr_t grad_out,
                                                  const CompositeShapeArgs& shape,
                                                  uintptr_t grad_alphas,
                                                  uintptr_t grad_features) {
  return {ptr<const int64_t>(pointsidx), ptr<const T>(alphas),  ptr<const T>(features),
          ptr<const T>(grad_out),        composite_shape(shape), ptr<T>(grad_alphas),
          ptr<T>(grad_features)};
}

// marching_cubes: grid = (N, D, H, W, table width).
using McGridArgs = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t>;

r3d::McGrid mc_grid(const McGridArgs& a) {
  return {std::get<0>(a), std::get<1>(a), std::get<2>(a), std::get<3>(a), std::get<4>(a)};
}

template <typename T>
r3d::MarchingCubesCount<T> mc_count_body(uintptr_t vol, uintptr_t levels, uintptr_t table,
                                         const McGridArgs& grid, uintptr_t crossed,
                                         uintptr_t tris) {
  return {ptr<const T>(vol),  ptr<const T>(levels), ptr<const int64_t>(table),
          mc_grid(grid),      ptr<uint8_t>(crossed), ptr<uint8_t>(tris)};
}

template <typename T>
r3d::MarchingCubesEmit<T> mc_emit_body(uintptr_t vol, uintptr_t levels, uintptr_t table,
                                       const McGridArgs& grid, uintptr_t vert_end,
                                       uintptr_t tri_end, uintptr_t verts, uintptr_t faces) {
  return {ptr<const T>(vol),          ptr<const T>(levels),       ptr<const int64_t>(table),
          mc_grid(grid),              ptr<const int64_t>(vert_end), ptr<const int64_t>(tri_end),
          ptr<T>(verts),              ptr<int64_t>(faces)};
}

// Binds <name>_cpu and <name>_cuda for a kernel over the (n, 3) float rows of verts indexed by an
// int64 table: launcher(verts, index, n, scalar, out) with T = float or double.
#define R3D_DEF_INDEXED(m, name)                                                               \
  m.def(#name "_cpu", [](const std::string& dtype, uintptr_t verts, uintptr_t index, int64_t n, \
                         double scalar, uintptr_t out, int num_threads) {                      \
    run(dtype, [&](auto zero) {                                                                \
      using T = decltype(zero);                                                                \
      return r3d::name##_cpu<T>(ptr<const T>(verts), ptr<const int64_t>(index), n,             \
                                static_cast<T>(scalar), ptr<T>(out), num_threads);             \
    });                                                                                        \
  });                                                                                          \
  m.def(#name "_cuda", [](const std::string& dtype, uintptr_t verts, uintptr_t index,          \
                          int64_t n, double scalar, uintptr_t out, uintptr_t stream) {         \
    run(dtype, [&](auto zero) {                                                                \
      using T = decltype(zero);                                                                \
      (void)verts, (void)index, (void)n, (void)scalar, (void)out, (void)stream;                \
      return R3D_CUDA_CALL(r3d::name##_cuda<T>(ptr<const T>(verts), ptr<const int64_t>(index), \
                                               n, static_cast<T>(scalar), ptr<T>(out),         \
                                               stream));                                       \
    });                                                                                        \
  })

// Like R3D_DEF_INDEXED for backward launchers: launcher(verts, index, n, grad, scalar, out).
#define R3D_DEF_INDEXED_BACKWARD(m, name)                                                      \
  m.def(#name "_cpu", [](const std::string& dtype, uintptr_t verts, uintptr_t index, int64_t n, \
                         uintptr_t grad, double scalar, uintptr_t out, int num_threads) {      \
    run(dtype, [&](auto zero) {                                                                \
      using T = decltype(zero);                                                                \
      return r3d::name##_cpu<T>(ptr<const T>(verts), ptr<const int64_t>(index), n,             \
                                ptr<const T>(grad), static_cast<T>(scalar), ptr<T>(out),       \
                                num_threads);                                                  \
    });                                                                                        \
  });                                                                                          \
  m.def(#name "_cuda", [](const std::string& dtype, uintptr_t verts, uintptr_t index,          \
                          int64_t n, uintptr_t grad, double scalar, uintptr_t out,             \
                          uintptr_t stream) {                                                  \
    run(dtype, [&](auto zero) {                                                                \
      using T = decltype(zero);                                                                \
      (void)verts, (void)index, (void)n, (void)grad, (void)scalar, (void)out, (void)stream;    \
      return R3D_CUDA_CALL(r3d::name##_cuda<T>(ptr<const T>(verts), ptr<const int64_t>(index), \
                                               n, ptr<const T>(grad), static_cast<T>(scalar),  \
                                               ptr<T>(out), stream));                          \
    });                                                                                        \
  })

}  // namespace

PYBIND11_MODULE(_C, m) {
  m.doc() = "r3d native kernels (CPU with OpenMP; CUDA when built with nvcc)";
  m.attr("with_cuda") = kWithCuda;

  m.def("cuda_device_count", []() {
    int count = 0;
#ifdef R3D_WITH_CUDA
    Status s = r3d::cuda_device_count(&count);
    if (s.failed()) return 0;
#endif
    return count;
  });
  m.def("cuda_set_device", [](int index) {
    (void)index;
    raise_if_failed(R3D_CUDA_CALL(r3d::cuda_set_device(index)));
  });
  m.def("cuda_stream_synchronize", [](uintptr_t stream) {
    (void)stream;
    raise_if_failed(R3D_CUDA_CALL(r3d::cuda_stream_synchronize(stream)));
  });

  m.def("face_areas_normals_forward_cpu",
        [](const std::string& dtype, uintptr_t verts, uintptr_t faces, int64_t num_faces,
           uintptr_t areas, uintptr_t normals, double eps, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::face_areas_normals_forward_cpu<T>(ptr<const T>(verts),
                                                          ptr<const int64_t>(faces), num_faces,
                                                          ptr<T>(areas), ptr<T>(normals),
                                                          static_cast<T>(eps), num_threads);
          });
        });
  m.def("face_areas_normals_backward_cpu",
        [](const std::string& dtype, uintptr_t verts, uintptr_t faces, int64_t num_faces,
           uintptr_t grad_areas, uintptr_t grad_normals, uintptr_t grad_corners, double eps,
           int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::face_areas_normals_backward_cpu<T>(
                ptr<const T>(verts), ptr<const int64_t>(faces), num_faces,
                ptr<const T>(grad_areas), ptr<const T>(grad_normals), ptr<T>(grad_corners),
                static_cast<T>(eps), num_threads);
          });
        });
  m.def("face_areas_normals_forward_cuda",
        [](const std::string& dtype, uintptr_t verts, uintptr_t faces, int64_t num_faces,
           uintptr_t areas, uintptr_t normals, double eps, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            (void)verts, (void)faces, (void)num_faces, (void)areas, (void)normals, (void)eps,
                (void)stream;
            return R3D_CUDA_CALL(r3d::face_areas_normals_forward_cuda<T>(
                ptr<const T>(verts), ptr<const int64_t>(faces), num_faces, ptr<T>(areas),
                ptr<T>(normals), static_cast<T>(eps), stream));
          });
        });
  m.def("face_areas_normals_backward_cuda",
        [](const std::string& dtype, uintptr_t verts, uintptr_t faces, int64_t num_faces,
           uintptr_t grad_areas, uintptr_t grad_normals, uintptr_t grad_corners, double eps,
           uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            (void)verts, (void)faces, (void)num_faces, (void)grad_areas, (void)grad_normals,
                (void)grad_corners, (void)eps, (void)stream;
            return R3D_CUDA_CALL(r3d::face_areas_normals_backward_cuda<T>(
                ptr<const T>(verts), ptr<const int64_t>(faces), num_faces,
                ptr<const T>(grad_areas), ptr<const T>(grad_normals), ptr<T>(grad_corners),
                static_cast<T>(eps), stream));
          });
        });

  m.def("packed_padded_cpu",
        [](const std::string& dtype, uintptr_t src, uintptr_t dst, uintptr_t first_idxs,
           int64_t num_batches, int64_t max_size, int64_t num_packed, int64_t dim, bool to_padded,
           double fill, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::packed_padded_cpu<T>(ptr<const T>(src), ptr<T>(dst),
                                             ptr<const int64_t>(first_idxs), num_batches, max_size,
                                             num_packed, dim, to_padded, static_cast<T>(fill),
                                             num_threads);
          });
        });
  m.def("packed_padded_cuda",
        [](const std::string& dtype, uintptr_t src, uintptr_t dst, uintptr_t first_idxs,
           int64_t num_batches, int64_t max_size, int64_t num_packed, int64_t dim, bool to_padded,
           double fill, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            (void)src, (void)dst, (void)first_idxs, (void)num_batches, (void)max_size,
                (void)num_packed, (void)dim, (void)to_padded, (void)fill, (void)stream;
            return R3D_CUDA_CALL(r3d::packed_padded_cuda<T>(
                ptr<const T>(src), ptr<T>(dst), ptr<const int64_t>(first_idxs), num_batches,
                max_size, num_packed, dim, to_padded, static_cast<T>(fill), stream));
          });
        });

  // knn_points: shape = (N, P1, P2, D, K, norm); the last argument is the thread count (CPU)
  // or the stream (CUDA).
  using KnnShapeArgs = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int>;
  auto knn_shape = [](const KnnShapeArgs& a) {
    return r3d::KnnShape{std::get<0>(a), std::get<1>(a), std::get<2>(a),
                         std::get<3>(a), std::get<4>(a), std::get<5>(a)};
  };
  m.def("knn_forward_cpu",
        [knn_shape](const std::string& dtype, uintptr_t p1, uintptr_t p2, uintptr_t lengths1,
                    uintptr_t lengths2, const KnnShapeArgs& shape, uintptr_t dists, uintptr_t idx,
                    int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::knn_forward_cpu<T>(ptr<const T>(p1), ptr<const T>(p2),
                                           ptr<const int64_t>(lengths1),
                                           ptr<const int64_t>(lengths2), knn_shape(shape),
                                           ptr<T>(dists), ptr<int64_t>(idx), num_threads);
          });
        });
  m.def("knn_forward_cuda",
        [knn_shape](const std::string& dtype, uintptr_t p1, uintptr_t p2, uintptr_t lengths1,
                    uintptr_t lengths2, const KnnShapeArgs& shape, uintptr_t dists, uintptr_t idx,
                    uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            (void)p1, (void)p2, (void)lengths1, (void)lengths2, (void)shape, (void)dists,
                (void)idx, (void)stream, (void)knn_shape;
            return R3D_CUDA_CALL(r3d::knn_forward_cuda<T>(
                ptr<const T>(p1), ptr<const T>(p2), ptr<const int64_t>(lengths1),
                ptr<const int64_t>(lengths2), knn_shape(shape), ptr<T>(dists), ptr<int64_t>(idx),
                stream));
          });
        });
  m.def("knn_backward_cpu",
        [knn_shape](const std::string& dtype, uintptr_t p1, uintptr_t p2, uintptr_t lengths1,
                    uintptr_t lengths2, uintptr_t idx, uintptr_t grad_dists,
                    const KnnShapeArgs& shape, uintptr_t grad_p1, uintptr_t grad_pairs,
                    int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::knn_backward_cpu<T>(
                ptr<const T>(p1), ptr<const T>(p2), ptr<const int64_t>(lengths1),
                ptr<const int64_t>(lengths2), ptr<const int64_t>(idx), ptr<const T>(grad_dists),
                knn_shape(shape), ptr<T>(grad_p1), ptr<T>(grad_pairs), num_threads);
          });
        });
  m.def("knn_backward_cuda",
        [knn_shape](const std::string& dtype, uintptr_t p1, uintptr_t p2, uintptr_t lengths1,
                    uintptr_t lengths2, uintptr_t idx, uintptr_t grad_dists,
                    const KnnShapeArgs& shape, uintptr_t grad_p1, uintptr_t grad_pairs,
                    uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            (void)p1, (void)p2, (void)lengths1, (void)lengths2, (void)idx, (void)grad_dists,
                (void)shape, (void)grad_p1, (void)grad_pairs, (void)stream, (void)knn_shape;
            return R3D_CUDA_CALL(r3d::knn_backward_cuda<T>(
                ptr<const T>(p1), ptr<const T>(p2), ptr<const int64_t>(lengths1),
                ptr<const int64_t>(lengths2), ptr<const int64_t>(idx), ptr<const T>(grad_dists),
                knn_shape(shape), ptr<T>(grad_p1), ptr<T>(grad_pairs), stream));
          });
        });

  // point <-> mesh distances: the arguments of point_mesh_forward_args / _backward_args, then
  // corners (2 or 3), point_queries, and the thread count or the stream.
  m.def("point_mesh_forward_cpu",
        [](const std::string& dtype, uintptr_t points, uintptr_t points_first, int64_t num_points,
           uintptr_t prims, uintptr_t prims_first, int64_t num_prims, int64_t num_items,
           double min_area, uintptr_t dists, uintptr_t idx, int corners, bool point_queries,
           int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::point_mesh_forward_cpu<T>(
                point_mesh_forward_args<T>(points, points_first, num_points, prims, prims_first,
                                           num_prims, num_items, min_area, dists, idx),
                corners, point_queries, num_threads);
          });
        });
  m.def("point_mesh_backward_cpu",
        [](const std::string& dtype, uintptr_t points, uintptr_t prims, uintptr_t idx,
           uintptr_t grad_dists, double min_area, uintptr_t grad_points, uintptr_t grad_prims,
           int64_t num_queries, int corners, bool point_queries, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::point_mesh_backward_cpu<T>(
                point_mesh_backward_args<T>(points, prims, idx, grad_dists, min_area, grad_points,
                                            grad_prims),
                num_queries, corners, point_queries, num_threads);
          });
        });
  m.def("point_mesh_forward_cuda",
        [](const std::string& dtype, uintptr_t points, uintptr_t points_first, int64_t num_points,
           uintptr_t prims, uintptr_t prims_first, int64_t num_prims, int64_t num_items,
           double min_area, uintptr_t dists, uintptr_t idx, int corners, bool point_queries,
           uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            const auto args = point_mesh_forward_args<T>(points, points_first, num_points, prims,
                                                         prims_first, num_prims, num_items,
                                                         min_area, dists, idx);
            (void)args, (void)corners, (void)point_queries, (void)stream;
            return R3D_CUDA_CALL(
                r3d::point_mesh_forward_cuda<T>(args, corners, point_queries, stream));
          });
        });
  m.def("point_mesh_backward_cuda",
        [](const std::string& dtype, uintptr_t points, uintptr_t prims, uintptr_t idx,
           uintptr_t grad_dists, double min_area, uintptr_t grad_points, uintptr_t grad_prims,
           int64_t num_queries, int corners, bool point_queries, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            const auto args = point_mesh_backward_args<T>(points, prims, idx, grad_dists, min_area,
                                                          grad_points, grad_prims);
            (void)args, (void)num_queries, (void)corners, (void)point_queries, (void)stream;
            return R3D_CUDA_CALL(r3d::point_mesh_backward_cuda<T>(args, num_queries, corners,
                                                                  point_queries, stream));
          });
        });
  // rasterize_meshes: the settings tuple of raster_settings; the last argument is the thread
  // count (CPU) or the stream (CUDA).
  m.def("rasterize_meshes_forward_cpu",
        [](const std::string& dtype, uintptr_t face_verts, uintptr_t face_first,
           uintptr_t face_count, const RasterSettingsArgs& settings, int64_t bin_size,
           uintptr_t pix_to_face, uintptr_t zbuf, uintptr_t bary, uintptr_t dists,
           int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::rasterize_meshes_forward_cpu<T>(
                ptr<const T>(face_verts), ptr<const int64_t>(face_first),
                ptr<const int64_t>(face_count), raster_settings(settings), bin_size,
                ptr<int64_t>(pix_to_face), ptr<T>(zbuf), ptr<T>(bary), ptr<T>(dists),
                num_threads);
          });
        });
  m.def("rasterize_meshes_forward_cuda",
        [](const std::string& dtype, uintptr_t face_verts, uintptr_t face_first,
           uintptr_t face_count, const RasterSettingsArgs& settings, int64_t bin_size,
           uintptr_t pix_to_face, uintptr_t zbuf, uintptr_t bary, uintptr_t dists,
           uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            (void)face_verts, (void)face_first, (void)face_count, (void)settings, (void)bin_size,
                (void)pix_to_face, (void)zbuf, (void)bary, (void)dists, (void)stream;
            return R3D_CUDA_CALL(r3d::rasterize_meshes_forward_cuda<T>(
                ptr<const T>(face_verts), ptr<const int64_t>(face_first),
                ptr<const int64_t>(face_count), raster_settings(settings),
                ptr<int64_t>(pix_to_face), ptr<T>(zbuf), ptr<T>(bary), ptr<T>(dists), stream));
          });
        });
  m.def("rasterize_meshes_backward_cpu",
        [](const std::string& dtype, uintptr_t face_verts, uintptr_t pix_to_face,
           uintptr_t grad_zbuf, uintptr_t grad_bary, uintptr_t grad_dists,
           const RasterSettingsArgs& settings, int64_t num_faces, uintptr_t grad_face_verts,
           int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::rasterize_meshes_backward_cpu<T>(
                ptr<const T>(face_verts), ptr<const int64_t>(pix_to_face),
                ptr<const T>(grad_zbuf), ptr<const T>(grad_bary), ptr<const T>(grad_dists),
                raster_settings(settings), num_faces, ptr<T>(grad_face_verts), num_threads);
          });
        });
  m.def("rasterize_meshes_backward_cuda",
        [](const std::string& dtype, uintptr_t face_verts, uintptr_t pix_to_face,
           uintptr_t grad_zbuf, uintptr_t grad_bary, uintptr_t grad_dists,
           const RasterSettingsArgs& settings, int64_t num_faces, uintptr_t grad_face_verts,
           uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            (void)face_verts, (void)pix_to_face, (void)grad_zbuf, (void)grad_bary,
                (void)grad_dists, (void)settings, (void)num_faces, (void)grad_face_verts,
                (void)stream;
            return R3D_CUDA_CALL(r3d::rasterize_meshes_backward_cuda<T>(
                ptr<const T>(face_verts), ptr<const int64_t>(pix_to_face),
                ptr<const T>(grad_zbuf), ptr<const T>(grad_bary), ptr<const T>(grad_dists),
                raster_settings(settings), num_faces, ptr<T>(grad_face_verts), stream));
          });
        });

  // rasterize_points: the settings tuple of point_raster_settings; the last argument is the
  // thread count (CPU) or the stream (CUDA).
  m.def("rasterize_points_forward_cpu",
        [](const std::string& dtype, uintptr_t points, uintptr_t radius, uintptr_t cloud_first,
           uintptr_t cloud_count, const PointRasterSettingsArgs& settings, int64_t bin_size,
           uintptr_t idx, uintptr_t zbuf, uintptr_t dists, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::rasterize_points_forward_cpu<T>(
                ptr<const T>(points), ptr<const T>(radius), ptr<const int64_t>(cloud_first),
                ptr<const int64_t>(cloud_count), point_raster_settings(settings), bin_size,
                ptr<int64_t>(idx), ptr<T>(zbuf), ptr<T>(dists), num_threads);
          });
        });
  m.def("rasterize_points_forward_cuda",
        [](const std::string& dtype, uintptr_t points, uintptr_t radius, uintptr_t cloud_first,
           uintptr_t cloud_count, const PointRasterSettingsArgs& settings, int64_t bin_size,
           uintptr_t idx, uintptr_t zbuf, uintptr_t dists, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            (void)points, (void)radius, (void)cloud_first, (void)cloud_count, (void)settings,
                (void)bin_size, (void)idx, (void)zbuf, (void)dists, (void)stream;
            return R3D_CUDA_CALL(r3d::rasterize_points_forward_cuda<T>(
                ptr<const T>(points), ptr<const T>(radius), ptr<const int64_t>(cloud_first),
                ptr<const int64_t>(cloud_count), point_raster_settings(settings),
                ptr<int64_t>(idx), ptr<T>(zbuf), ptr<T>(dists), stream));
          });
        });
  m.def("rasterize_points_backward_cpu",
        [](const std::string& dtype, uintptr_t points, uintptr_t idx, uintptr_t grad_zbuf,
           uintptr_t grad_dists, const PointRasterSettingsArgs& settings, int64_t num_points,
           uintptr_t grad_points, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::rasterize_points_backward_cpu<T>(
                ptr<const T>(points), ptr<const int64_t>(idx), ptr<const T>(grad_zbuf),
                ptr<const T>(grad_dists), point_raster_settings(settings), num_points,
                ptr<T>(grad_points), num_threads);
          });
        });
  m.def("rasterize_points_backward_cuda",
        [](const std::string& dtype, uintptr_t points, uintptr_t idx, uintptr_t grad_zbuf,
           uintptr_t grad_dists, const PointRasterSettingsArgs& settings, int64_t num_points,
           uintptr_t grad_points, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            (void)points, (void)idx, (void)grad_zbuf, (void)grad_dists, (void)settings,
                (void)num_points, (void)grad_points, (void)stream;
            return R3D_CUDA_CALL(r3d::rasterize_points_backward_cuda<T>(
                ptr<const T>(points), ptr<const int64_t>(idx), ptr<const T>(grad_zbuf),
                ptr<const T>(grad_dists), point_raster_settings(settings), num_points,
                ptr<T>(grad_points), stream));
          });
        });

  // interpolate_face_attributes: the arguments of interp_forward_body / interp_backward_body,
  // the address of an int32 code, then the thread count or the stream.
  m.def("interp_face_attrs_forward_cpu",
        [](const std::string& dtype, uintptr_t pix_to_face, uintptr_t bary, uintptr_t attrs,
           const InterpShapeArgs& shape, uintptr_t out, uintptr_t code, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::interp_face_attrs_forward_cpu<T>(
                interp_forward_body<T>(pix_to_face, bary, attrs, shape, out),
                ptr<int32_t>(code), num_threads);
          });
        });
  m.def("interp_face_attrs_backward_cpu",
        [](const std::string& dtype, uintptr_t pix_to_face, uintptr_t bary, uintptr_t attrs,
           uintptr_t grad_out, const InterpShapeArgs& shape, uintptr_t grad_bary,
           uintptr_t grad_attrs_per_slot, uintptr_t code, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::interp_face_attrs_backward_cpu<T>(
                interp_backward_body<T>(pix_to_face, bary, attrs, grad_out, shape, grad_bary,
                                        grad_attrs_per_slot),
                ptr<int32_t>(code), num_threads);
          });
        });
  m.def("interp_face_attrs_forward_cuda",
        [](const std::string& dtype, uintptr_t pix_to_face, uintptr_t bary, uintptr_t attrs,
           const InterpShapeArgs& shape, uintptr_t out, uintptr_t code, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            const auto body = interp_forward_body<T>(pix_to_face, bary, attrs, shape, out);
            (void)body, (void)code, (void)stream;
            return R3D_CUDA_CALL(
                r3d::interp_face_attrs_forward_cuda<T>(body, ptr<int32_t>(code), stream));
          });
        });
  m.def("interp_face_attrs_backward_cuda",
        [](const std::string& dtype, uintptr_t pix_to_face, uintptr_t bary, uintptr_t attrs,
           uintptr_t grad_out, const InterpShapeArgs& shape, uintptr_t grad_bary,
           uintptr_t grad_attrs_per_slot, uintptr_t code, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            const auto body = interp_backward_body<T>(pix_to_face, bary, attrs, grad_out, shape,
                                                      grad_bary, grad_attrs_per_slot);
            (void)body, (void)code, (void)stream;
            return R3D_CUDA_CALL(
                r3d::interp_face_attrs_backward_cuda<T>(body, ptr<int32_t>(code), stream));
          });
        });

  // point compositing: the arguments of composite_forward_body (then the address of an int32
  // code) or of composite_backward_body, then the thread count or the stream.
  m.def("composite_forward_cpu",
        [](const std::string& dtype, uintptr_t pointsidx, uintptr_t alphas, uintptr_t features,
           const CompositeShapeArgs& shape, uintptr_t out, uintptr_t code, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::composite_forward_cpu<T>(
                composite_forward_body<T>(pointsidx, alphas, features, shape, out),
                ptr<int32_t>(code), num_threads);
          });
        });
  m.def("composite_backward_cpu",
        [](const std::string& dtype, uintptr_t pointsidx, uintptr_t alphas, uintptr_t features,
           uintptr_t grad_out, const CompositeShapeArgs& shape, uintptr_t grad_alphas,
           uintptr_t grad_features, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::composite_backward_cpu<T>(
                composite_backward_body<T>(pointsidx, alphas, features, grad_out, shape,
                                           grad_alphas, grad_features),
                num_threads);
          });
        });
  m.def("composite_forward_cuda",
        [](const std::string& dtype, uintptr_t pointsidx, uintptr_t alphas, uintptr_t features,
           const CompositeShapeArgs& shape, uintptr_t out, uintptr_t code, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            const auto body = composite_forward_body<T>(pointsidx, alphas, features, shape, out);
            (void)body, (void)code, (void)stream;
            return R3D_CUDA_CALL(
                r3d::composite_forward_cuda<T>(body, ptr<int32_t>(code), stream));
          });
        });
  m.def("composite_backward_cuda",
        [](const std::string& dtype, uintptr_t pointsidx, uintptr_t alphas, uintptr_t features,
           uintptr_t grad_out, const CompositeShapeArgs& shape, uintptr_t grad_alphas,
           uintptr_t grad_features, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            const auto body = composite_backward_body<T>(pointsidx, alphas, features, grad_out,
                                                         shape, grad_alphas, grad_features);
            (void)body, (void)stream;
            return R3D_CUDA_CALL(r3d::composite_backward_cuda<T>(body, stream));
          });
        });

  // marching_cubes: the arguments of mc_count_body / mc_emit_body, then the thread count or
  // the stream.
  m.def("marching_cubes_count_cpu",
        [](const std::string& dtype, uintptr_t vol, uintptr_t levels, uintptr_t table,
           const McGridArgs& grid, uintptr_t crossed, uintptr_t tris, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::marching_cubes_count_cpu<T>(
                mc_count_body<T>(vol, levels, table, grid, crossed, tris), num_threads);
          });
        });
  m.def("marching_cubes_emit_cpu",
        [](const std::string& dtype, uintptr_t vol, uintptr_t levels, uintptr_t table,
           const McGridArgs& grid, uintptr_t vert_end, uintptr_t tri_end, uintptr_t verts,
           uintptr_t faces, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::marching_cubes_emit_cpu<T>(
                mc_emit_body<T>(vol, levels, table, grid, vert_end, tri_end, verts, faces),
                num_threads);
          });
        });
  m.def("marching_cubes_count_cuda",
        [](const std::string& dtype, uintptr_t vol, uintptr_t levels, uintptr_t table,
           const McGridArgs& grid, uintptr_t crossed, uintptr_t tris, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            const auto body = mc_count_body<T>(vol, levels, table, grid, crossed, tris);
            (void)body, (void)stream;
            return R3D_CUDA_CALL(r3d::marching_cubes_count_cuda<T>(body, stream));
          });
        });
  m.def("marching_cubes_emit_cuda",
        [](const std::string& dtype, uintptr_t vol, uintptr_t levels, uintptr_t table,
           const McGridArgs& grid, uintptr_t vert_end, uintptr_t tri_end, uintptr_t verts,
           uintptr_t faces, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            const auto body =
                mc_emit_body<T>(vol, levels, table, grid, vert_end, tri_end, verts, faces);
            (void)body, (void)stream;
            return R3D_CUDA_CALL(r3d::marching_cubes_emit_cuda<T>(body, stream));
          });
        });


  // graph kernels: CSR grouping (CPU), CSR gather-sum, mesh edge loss, normal consistency
  m.def("group_by_key_cpu", [](uintptr_t keys, int64_t num_keys, int64_t num_rows, uintptr_t ptr_out,
                               uintptr_t order) {
    Status s;
    {
      py::gil_scoped_release release;
      s = r3d::group_by_key_cpu(ptr<const int64_t>(keys), num_keys, num_rows,
                                ptr<int64_t>(ptr_out), ptr<int64_t>(order));
    }
    raise_if_failed(s);
  });
  m.def("csr_gather_sum_cpu",
        [](const std::string& dtype, uintptr_t x, uintptr_t row_ptr, uintptr_t col, int64_t rows,
           int64_t dim, uintptr_t out, int num_threads) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            return r3d::csr_gather_sum_cpu<T>(ptr<const T>(x), ptr<const int64_t>(row_ptr),
                                              ptr<const int64_t>(col), rows, dim, ptr<T>(out),
                                              num_threads);
          });
        });
  m.def("csr_gather_sum_cuda",
        [](const std::string& dtype, uintptr_t x, uintptr_t row_ptr, uintptr_t col, int64_t rows,
           int64_t dim, uintptr_t out, uintptr_t stream) {
          run(dtype, [&](auto zero) {
            using T = decltype(zero);
            (void)x, (void)row_ptr, (void)col, (void)rows, (void)dim, (void)out, (void)stream;
            return R3D_CUDA_CALL(r3d::csr_gather_sum_cuda<T>(
                ptr<const T>(x), ptr<const int64_t>(row_ptr), ptr<const int64_t>(col), rows, dim,
                ptr<T>(out), stream));
          });
        });
  m.def("face_pairs_cpu", [](uintptr_t edges, uintptr_t row_ptr, uintptr_t order, uintptr_t corners,
                             uintptr_t pair_first, int64_t num_edges, uintptr_t quads,
                             uintptr_t pair_edge, int num_threads) {
    Status s;
    {
      py::gil_scoped_release release;
      s = r3d::face_pairs_cpu(ptr<const int64_t>(edges), ptr<const int64_t>(row_ptr),
                              ptr<const int64_t>(order), ptr<const int64_t>(corners),
                              ptr<const int64_t>(pair_first), num_edges, ptr<int64_t>(quads),
                              ptr<int64_t>(pair_edge), num_threads);
    }
    raise_if_failed(s);
  });
  m.def("face_pairs_cuda", [](uintptr_t edges, uintptr_t row_ptr, uintptr_t order, uintptr_t corners,
                              uintptr_t pair_first, int64_t num_edges, uintptr_t quads,
                              uintptr_t pair_edge, uintptr_t stream) {
    (void)edges, (void)row_ptr, (void)order, (void)corners, (void)pair_first, (void)num_edges,
        (void)quads, (void)pair_edge, (void)stream;
    Status s;
    {
      py::gil_scoped_release release;
      s = R3D_CUDA_CALL(r3d::face_pairs_cuda(
          ptr<const int64_t>(edges), ptr<const int64_t>(row_ptr), ptr<const int64_t>(order),
          ptr<const int64_t>(corners), ptr<const int64_t>(pair_first), num_edges,
          ptr<int64_t>(quads), ptr<int64_t>(pair_edge), stream));
    }
    raise_if_failed(s);
  });
  R3D_DEF_INDEXED(m, edge_loss_forward);
  R3D_DEF_INDEXED_BACKWARD(m, edge_loss_backward);
  R3D_DEF_INDEXED(m, normal_consistency_forward);
  R3D_DEF_INDEXED_BACKWARD(m, normal_consistency_backward);
}
