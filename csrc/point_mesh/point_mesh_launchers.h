// Launchers of the point <-> mesh distances. Arguments are documented in point_mesh.h; `corners`
// is K (3: triangles, 2: segments) and `point_queries` says which side the queries are.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "point_mesh/point_mesh.h"

namespace r3d {

template <typename T>
Status point_mesh_forward_cpu(const PointMeshForwardArgs<T>& args, int corners,
                              bool point_queries, int num_threads);
// The CUDA forward's schedule run on the host, for tests on machines without a GPU
// (point_mesh_emulate_cpu.cpp). Same arguments as the CPU launcher.
template <typename T>
Status point_mesh_forward_emulated(const PointMeshForwardArgs<T>& args, int corners,
                                   bool point_queries, int num_threads);
template <typename T>
Status point_mesh_backward_cpu(const PointMeshBackwardArgs<T>& args, int64_t num_queries,
                               int corners, bool point_queries, int num_threads);
template <typename T>
Status point_mesh_forward_cuda(const PointMeshForwardArgs<T>& args, int corners,
                               bool point_queries, uintptr_t stream);
template <typename T>
Status point_mesh_backward_cuda(const PointMeshBackwardArgs<T>& args, int64_t num_queries,
                                int corners, bool point_queries, uintptr_t stream);

}  // namespace r3d
