// A kd-tree over one 3D point cloud for the CPU KNN launcher.
//
// Median splits along the widest axis of each node's bounding box, leaves of at most kLeaf
// points, nodes implicit in ranges of the reordered points: the node over [b, e) splits at
// m = (b + e) / 2 and stores its split at index m (unique to that node). Points are stored with
// their original index, in tree order, so a leaf is one contiguous run of memory. The search
// visits the near child first and a far child only when the distance from the query to that
// child's cell (kept incrementally per axis, as in Arya & Mount) can still beat the k-th best.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "common/cpu_loop.h"
#include "knn/knn.h"

namespace r3d {

template <typename T>
class KdTree {
 public:
  static constexpr int64_t kLeaf = 12;
  static constexpr int64_t kBuildCostPerLevel = 10;  // cost units of a point at a level

  // Cost units of building over n points, for the launchers' threading policy (cpu_loop.h).
  static int64_t build_work(int64_t n) {
    int64_t levels = 1;
    for (int64_t size = n; size > kLeaf; size /= 2) ++levels;
    return work_of(n, kBuildCostPerLevel * levels);
  }

  // Reserves memory for n points (throws std::bad_alloc; call outside parallel regions).
  void allocate(int64_t n) {
    items_.resize(n);
    split_.resize(n);
    axis_.resize(n);
  }

  // Builds over points (n, 3), n as given to allocate. Inside a parallel region, builds large
  // ranges as tasks of its team (fork_join).
  void build(const T* points) {
    const int64_t n = static_cast<int64_t>(items_.size());
    for (int64_t j = 0; j < n; ++j) {
      for (int d = 0; d < 3; ++d) items_[j].p[d] = points[3 * j + d];
      items_[j].index = j;
    }
    build_range(0, n);
  }

  void query(const T* q, TopK<T>& top, int norm) const {
    T off[3] = {T(0), T(0), T(0)};
    search(0, static_cast<int64_t>(items_.size()), q, T(0), off, top, norm);
  }

 private:
  struct Item {
    T p[3];
    int64_t index;
  };

  void build_range(int64_t b, int64_t e) {
    if (e - b <= kLeaf) return;
    T lo[3], hi[3];
    for (int d = 0; d < 3; ++d) lo[d] = hi[d] = items_[b].p[d];
    for (int64_t j = b + 1; j < e; ++j) {
      for (int d = 0; d < 3; ++d) {
        lo[d] = std::min(lo[d], items_[j].p[d]);
        hi[d] = std::max(hi[d], items_[j].p[d]);
      }
    }
    int axis = 0;
    for (int d = 1; d < 3; ++d)
      if (hi[d] - lo[d] > hi[axis] - lo[axis]) axis = d;
    const int64_t m = b + (e - b) / 2;
    std::nth_element(items_.begin() + b, items_.begin() + m, items_.begin() + e,
                     [axis](const Item& x, const Item& y) { return x.p[axis] < y.p[axis]; });
    split_[m] = items_[m].p[axis];
    axis_[m] = static_cast<uint8_t>(axis);
    fork_join(build_work(e - b), [&] { build_range(b, m); }, [&] { build_range(m, e); });
  }

  void search(int64_t b, int64_t e, const T* q, T rd, T* off, TopK<T>& top, int norm) const {
    if (e - b <= kLeaf) {
      for (int64_t j = b; j < e; ++j)
        top.push(knn_distance(q, items_[j].p, 3, norm), items_[j].index);
      return;
    }
    const int64_t m = b + (e - b) / 2;
    const int axis = axis_[m];
    const T diff = q[axis] - split_[m];
    const bool left_first = diff < T(0);
    if (left_first) search(b, m, q, rd, off, top, norm);
    else search(m, e, q, rd, off, top, norm);
    const T old = off[axis];
    const T gap = diff < T(0) ? -diff : diff;
    const T far = norm == 2 ? rd - old * old + gap * gap : rd - old + gap;
    if (top.full() && far > top.worst()) return;
    off[axis] = gap;
    if (left_first) search(m, e, q, far, off, top, norm);
    else search(b, m, q, far, off, top, norm);
    off[axis] = old;
  }

  std::vector<Item> items_;    // the points with their original index, in tree order
  std::vector<T> split_;       // split value of the node whose middle index is m
  std::vector<uint8_t> axis_;  // its split axis
};

}  // namespace r3d
