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
#include "cuda/device.h"
#include "graph/graph_launchers.h"
#include "mesh_normals/mesh_normals_launchers.h"
#include "knn/knn_launchers.h"
#include "packed_padded/packed_padded_launchers.h"
#include "point_mesh/point_mesh_launchers.h"

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
