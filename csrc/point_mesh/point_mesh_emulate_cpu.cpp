// The CUDA point <-> mesh forward run on the host, for tests on machines without a GPU: the
// schedule of lbvh_schedule.h with every body of lbvh.h, the steps one thread after another (the
// bottom-up box fill counts its arrivals with plain increments), the searches on the CPU's
// threads, a sort by (key, index) standing in for cub's stable radix sort.
#include <algorithm>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "common/cpu_loop.h"
#include "point_mesh/lbvh.h"
#include "point_mesh/lbvh_schedule.h"
#include "point_mesh/point_mesh.h"
#include "point_mesh/point_mesh_launchers.h"

namespace r3d {

namespace {

constexpr int64_t kEmulatedSearchCost = 600;  // cost units of one search (cpu_loop.h)

// The executor of lbvh_schedule.h on the host.
struct HostExec {
  template <typename U>
  class Array {
   public:
    U* get() { return v_.data(); }
    void swap(Array& other) { v_.swap(other.v_); }
    std::vector<U>& vector() { return v_; }

   private:
    std::vector<U> v_;
  };
  int num_threads;

  template <typename U>
  Status allocate(Array<U>& a, int64_t n) {
    try {
      a.vector().resize(static_cast<size_t>(std::max<int64_t>(n, 1)));
    } catch (const std::bad_alloc&) {
      return Status::error("out of memory emulating the CUDA point_mesh forward");
    }
    return Status::ok();
  }
  template <typename U>
  Status fill_bytes(Array<U>& a, int64_t n, int byte) {
    std::memset(static_cast<void*>(a.get()), byte, sizeof(U) * n);
    return Status::ok();
  }
  template <typename Body>
  Status run(int64_t n, const Body& body) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return Status::ok();
  }
  template <typename Body>
  Status run_searches(int64_t n, const Body& body) {
    parallel_for_dynamic(n, kEmulatedSearchCost, num_threads, body);
    return Status::ok();
  }
  template <typename T>
  Status reduce_boxes(const Box<T>* boxes, const int64_t* first, const int64_t* ends, int64_t N,
                      Box<T>* out) {
    for (int64_t n = 0; n < N; ++n) {
      out[n] = empty_box<T>();
      for (int64_t e = first[n]; e < ends[n]; ++e) out[n] = BoxMerge{}(out[n], boxes[e]);
    }
    return Status::ok();
  }
  Status sort_pairs(Array<uint64_t>& keys, Array<int32_t>& values, int64_t n, int end_bit) {
    const uint64_t mask = end_bit >= 64 ? ~uint64_t{0} : (uint64_t{1} << end_bit) - 1u;
    std::vector<std::pair<uint64_t, int32_t>> pairs;
    try {
      pairs.resize(n);
    } catch (const std::bad_alloc&) {
      return Status::error("out of memory emulating the CUDA point_mesh forward");
    }
    // a stable sort of the keys' bits: ties keep their order, that of the values as given
    for (int64_t i = 0; i < n; ++i) pairs[i] = {keys.get()[i], values.get()[i]};
    std::stable_sort(pairs.begin(), pairs.end(), [mask](const auto& a, const auto& b) {
      return (a.first & mask) < (b.first & mask);
    });
    for (int64_t i = 0; i < n; ++i) {
      keys.get()[i] = pairs[i].first;
      values.get()[i] = pairs[i].second;
    }
    return Status::ok();
  }
};

}  // namespace

template <typename T>
Status point_mesh_forward_emulated(const PointMeshForwardArgs<T>& args, int corners,
                                   bool point_queries, int num_threads) {
  HostExec exec{num_threads};
  return with_forward_body(args, corners, point_queries,
                           [&](const auto& forward) { return lbvh_nearest(exec, forward); });
}

#define R3D_INSTANTIATE(T)                                                                   \
  template Status point_mesh_forward_emulated<T>(const PointMeshForwardArgs<T>&, int, bool, \
                                                 int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
