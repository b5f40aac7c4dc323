// CUDA launchers of the point <-> mesh distances. The forward builds a tree per batch item over
// the candidates on the GPU and searches it, a thread per query (lbvh.h, lbvh_schedule.h); the
// backward is the body of point_mesh.h, a thread per pair.
#include <cub/cub.cuh>
#include <cuda_runtime.h>

#include "common/cuda_loop.cuh"
#include "common/device_array.cuh"
#include "point_mesh/lbvh.h"
#include "point_mesh/lbvh_schedule.h"
#include "point_mesh/point_mesh.h"
#include "point_mesh/point_mesh_launchers.h"

namespace r3d {

namespace {

// The executor of lbvh_schedule.h on a stream: its buffers from the stream's memory pool, its
// steps as kernels and cub calls queued on the stream (nothing synchronises the host).
struct CudaExec {
  template <typename U>
  using Array = DeviceArray<U>;
  cudaStream_t stream;

  template <typename U>
  Status allocate(Array<U>& a, int64_t n) {
    return a.allocate(n, stream);
  }
  template <typename U>
  Status fill_bytes(Array<U>& a, int64_t n, int byte) {
    return cuda_status(cudaMemsetAsync(a.get(), byte, sizeof(U) * n, stream));
  }
  template <typename Body>
  Status run(int64_t n, const Body& body) {
    return cuda_parallel_for(n, reinterpret_cast<uintptr_t>(stream), body);
  }
  template <typename Body>
  Status run_searches(int64_t n, const Body& body) {
    return run(n, body);
  }
  template <typename T>
  Status reduce_boxes(const Box<T>* boxes, const int64_t* first, const int64_t* ends, int64_t N,
                      Box<T>* out) {
    size_t bytes = 0;
    R3D_TRY(cuda_status(cub::DeviceSegmentedReduce::Reduce(
        nullptr, bytes, boxes, out, N, first, ends, BoxMerge{}, empty_box<T>(), stream)));
    DeviceArray<unsigned char> scratch;
    R3D_TRY(scratch.allocate(static_cast<int64_t>(bytes), stream));
    return cuda_status(cub::DeviceSegmentedReduce::Reduce(
        scratch.get(), bytes, boxes, out, N, first, ends, BoxMerge{}, empty_box<T>(), stream));
  }
  Status sort_pairs(Array<uint64_t>& keys, Array<int32_t>& values, int64_t n, int end_bit) {
    Array<uint64_t> keys_alt;
    Array<int32_t> values_alt;
    R3D_TRY(keys_alt.allocate(n, stream));
    R3D_TRY(values_alt.allocate(n, stream));
    cub::DoubleBuffer<uint64_t> k(keys.get(), keys_alt.get());
    cub::DoubleBuffer<int32_t> v(values.get(), values_alt.get());
    size_t bytes = 0;
    R3D_TRY(cuda_status(
        cub::DeviceRadixSort::SortPairs(nullptr, bytes, k, v, n, 0, end_bit, stream)));
    DeviceArray<unsigned char> scratch;
    R3D_TRY(scratch.allocate(static_cast<int64_t>(bytes), stream));
    R3D_TRY(cuda_status(
        cub::DeviceRadixSort::SortPairs(scratch.get(), bytes, k, v, n, 0, end_bit, stream)));
    if (k.Current() != keys.get()) keys.swap(keys_alt);
    if (v.Current() != values.get()) values.swap(values_alt);
    return Status::ok();
  }
};

}  // namespace

template <typename T>
Status point_mesh_forward_cuda(const PointMeshForwardArgs<T>& args, int corners,
                               bool point_queries, uintptr_t stream) {
  CudaExec exec{reinterpret_cast<cudaStream_t>(stream)};
  return with_forward_body(args, corners, point_queries,
                           [&](const auto& forward) { return lbvh_nearest(exec, forward); });
}

template <typename T>
Status point_mesh_backward_cuda(const PointMeshBackwardArgs<T>& args, int64_t num_queries,
                                int corners, bool point_queries, uintptr_t stream) {
  return with_backward_body(args, corners, point_queries, [&](const auto& body) {
    return cuda_parallel_for(num_queries, stream, body);
  });
}

#define R3D_INSTANTIATE(T)                                                                 \
  template Status point_mesh_forward_cuda<T>(const PointMeshForwardArgs<T>&, int, bool,   \
                                             uintptr_t);                                   \
  template Status point_mesh_backward_cuda<T>(const PointMeshBackwardArgs<T>&, int64_t, int, \
                                              bool, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
