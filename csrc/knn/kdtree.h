// A kd-tree over one 3D point cloud for the CPU KNN launcher.
//
// Median splits along the widest axis of each node's bounding box, down to a fixed depth at
// which every leaf holds at most kLeaf points: the tree is complete, nodes numbered as in a
// binary heap (children of node v are 2v + 1 and 2v + 2) with only their split value and axis
// stored. Each leaf keeps its points in the same number of slots (its most points rounded up to
// a multiple of 8), one run per coordinate (structure of arrays, infinity in the unused slots),
// so that the search computes the distances from a query to a whole leaf in one loop the
// compiler vectorises (compiled for each number of slots), then pushes those that can still
// enter. The
// search visits the near child first and a far child only when the distance from the query to
// that child's cell (kept incrementally per axis, as in Arya & Mount) can still reach the list.
#pragma once

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "common/cpu_loop.h"
#include "knn/search_top.h"

// x86-64 with GCC or Clang: the search is compiled a second time for AVX2 (twice the distances
// per instruction in the leaf scans), run where the processor has it. Both find the same
// neighbours: each distance is rounded as written (no FMA, -ffp-contract=off).
#if defined(__x86_64__) && defined(__GNUC__)
#define R3D_KDTREE_AVX2 1
#endif

namespace r3d {

template <typename T>
class KdTree {
 public:
  // The most points of a leaf (measured: leaves of about 16 points are fastest at 1k points, of
  // 20 at 10k, of 25 at 100k; fewer levels pay for longer scans as the tree grows).
  static constexpr int kLeaf = 25;
  // Slots are allocated in steps of kSlotStep, up to kMaxSlots.
  static constexpr int kSlotStep = 8;
  static constexpr int kMaxSlots = (kLeaf + kSlotStep - 1) / kSlotStep * kSlotStep;
  static_assert(kMaxSlots <= 32, "a leaf's slots are the bits of a uint32_t");
  // The most points a tree takes (its indices are int32).
  static constexpr int64_t kMaxPoints = INT32_MAX;
  static constexpr int64_t kBuildCostPerLevel = 8;  // cost units of a point at a level
  static constexpr int64_t kQueryCostPerLevel = 16;   // of a query per level of the tree
  static constexpr int64_t kQueryCostPerNeighbour = 48;  // and per neighbour it keeps

  // Cost units of building over n points, for the launchers' threading policy (cpu_loop.h).
  static int64_t build_work(int64_t n) { return work_of(n, kBuildCostPerLevel * (depth_for(n) + 1)); }
  // Cost units of one query over n points for k neighbours (measured: about 200 units for k = 1
  // and 650 for k = 8 at 10k points).
  static int64_t query_cost(int64_t n, int64_t k) {
    return kQueryCostPerLevel * (depth_for(n) + 1) + kQueryCostPerNeighbour * std::min<int64_t>(k, n);
  }

  // Reserves memory for n points, 1 <= n <= kMaxPoints (throws std::bad_alloc; call outside parallel regions).
  void allocate(int64_t n) {
    depth_ = depth_for(n);
    const int64_t leaves = int64_t{1} << depth_;
    first_leaf_ = leaves - 1;
    items_.resize(n);
    split_.resize(first_leaf_);
    axis_.resize(first_leaf_);
    // the ranges of depth D hold at most ceil(n / 2^D) points
    slots_ = static_cast<int>(((((n - 1) >> depth_) + 1 + kSlotStep - 1) / kSlotStep) * kSlotStep);
    coords_.assign(leaves * 3 * slots_, std::numeric_limits<T>::infinity());
    ids_.assign(leaves * slots_, 0);
    count_.resize(leaves);
  }

  // Builds over points (n, 3), n as given to allocate. Inside a parallel region, builds large
  // subtrees as tasks of its team (fork_join).
  void build(const T* points) {
    const int64_t n = static_cast<int64_t>(items_.size());
    for (int64_t j = 0; j < n; ++j) {
      for (int d = 0; d < 3; ++d) items_[j].p[d] = points[3 * j + d];
      items_[j].index = static_cast<int32_t>(j);
    }
    build_node(0, 0, 0, n);
    std::vector<Item>().swap(items_);  // the leaves hold the points now
  }

  // Pushes into top (search_top.h) the points that may be among the nearest to q (3,) in the
  // norm kNorm (2: squared L2, 1: L1): every point nearer than the last one top keeps.
  template <int kNorm, typename Top>
  void query(const T* q, Top& top) const {
#ifdef R3D_KDTREE_AVX2
    static const bool avx2 = __builtin_cpu_supports("avx2");
    if (avx2) {
      query_avx2<kNorm>(q, top);
      return;
    }
#endif
    query_slots<kNorm>(q, top);
  }

 private:
  struct Item {
    T p[3];
    int32_t index;  // (clouds have at most kMaxPoints points)
  };

  // query with the search compiled for the tree's number of slots.
  template <int kNorm, typename Top>
  R3D_ALWAYS_INLINE void query_slots(const T* q, Top& top) const {
    switch (slots_) {  // (kMaxSlots is 32)
      case 8: search<kNorm, 8>(q, top); break;
      case 16: search<kNorm, 16>(q, top); break;
      case 24: search<kNorm, 24>(q, top); break;
      default: search<kNorm, kMaxSlots>(q, top); break;
    }
  }

#ifdef R3D_KDTREE_AVX2
  template <int kNorm, typename Top>
  __attribute__((target("avx2"))) void query_avx2(const T* q, Top& top) const {
    query_slots<kNorm>(q, top);
  }
#endif

  // The depth at which the median splits leave at most kLeaf points in each leaf: the ranges
  // of depth D hold floor or ceil of n / 2^D points.
  static int depth_for(int64_t n) {
    int depth = 0;
    while (((n - 1) >> depth) + 1 > kLeaf) ++depth;
    return depth;
  }

  void build_node(int64_t node, int level, int64_t b, int64_t e) {
    if (level == depth_) {
      const int64_t leaf = node - first_leaf_;
      T* c = &coords_[leaf * 3 * slots_];
      for (int64_t j = b; j < e; ++j) {
        for (int d = 0; d < 3; ++d) c[d * slots_ + (j - b)] = items_[j].p[d];
        ids_[leaf * slots_ + (j - b)] = items_[j].index;
      }
      count_[leaf] = static_cast<int32_t>(e - b);
      return;
    }
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
    select(b, e, m, axis);
    split_[node] = items_[m].p[axis];
    axis_[node] = static_cast<uint8_t>(axis);
    fork_join(build_work(e - b), [&] { build_node(2 * node + 1, level + 1, b, m); },
              [&] { build_node(2 * node + 2, level + 1, m, e); });
  }

  // Moves into items_[m] the item that sorting [b, e) by coordinate axis would put there, with
  // no larger coordinate before it and no smaller one after (as std::nth_element): quickselect
  // whose partitions swap without branches (the comparisons of a median are unpredictable), one
  // pass a step (a second only when the pivot is the smallest coordinate left).
  void select(int64_t b, int64_t e, int64_t m, int axis) {
    Item* it = items_.data();
    const auto coord = [&](int64_t i) { return it[i].p[axis]; };
    while (e - b > 16) {
      const int64_t step = (e - b) / 8;
      const int64_t mid = b + (e - b) / 2;
      const T pivot = e - b > 256 ? median3(median3(coord(b), coord(b + step), coord(b + 2 * step)),
                                            median3(coord(mid - step), coord(mid), coord(mid + step)),
                                            median3(coord(e - 1 - 2 * step), coord(e - 1 - step), coord(e - 1)))
                                  : median3(coord(b), coord(mid), coord(e - 1));
      const int64_t lt = partition(b, e, axis, [pivot](T v) { return v < pivot; });
      if (m < lt) {
        e = lt;
      } else if (lt > b) {
        b = lt;
      } else {  // the pivot is the smallest: split off the items equal to it
        const int64_t le = partition(b, e, axis, [pivot](T v) { return v <= pivot; });
        if (m < le) return;  // items_[m] equals the pivot
        b = le;
      }
    }
    for (int64_t i = b + 1; i < e; ++i)  // insertion sort of the last few
      for (int64_t j = i; j > b && it[j].p[axis] < it[j - 1].p[axis]; --j) std::swap(it[j], it[j - 1]);
  }

  static T median3(T x, T y, T z) { return std::max(std::min(x, y), std::min(std::max(x, y), z)); }

  // Moves the items of [b, e) whose coordinate axis satisfies before to the front; returns
  // the end of those.
  template <typename Before>
  int64_t partition(int64_t b, int64_t e, int axis, const Before& before) {
    Item* it = items_.data();
    int64_t i = b;
    for (int64_t j = b; j < e; ++j) {
      const Item t = it[j];
      const bool move = before(t.p[axis]);
      it[j] = it[i];
      it[i] = t;
      i += move;
    }
    return i;
  }

  // The nodes still to visit (far children passed on the way down) and the distance from the
  // query to their cell: off[a] its part along axis a, rd the total (squared for kNorm 2).
  struct Pending {
    int64_t node;
    int level;
    T rd;
    T off[3];
  };

  // Depth-first, near child first: descends to a leaf, noting the far child of each node on the
  // way, scans the leaf, then resumes at the last far child noted whose cell can still reach
  // the list. The cell distances are lower bounds up to rounding, absorbed by a slack of 2^-12.
  template <int kNorm, int kSlots, typename Top>
  R3D_ALWAYS_INLINE void search(const T* q, Top& top) const {
    Pending stack[64];
    int size = 1;
    stack[0] = Pending{0, 0, T(0), {T(0), T(0), T(0)}};
    while (size > 0) {
      Pending p = stack[--size];
      if (p.rd - p.rd * T(1.0 / 4096) > top.bound()) continue;
      int64_t node = p.node;
      for (int level = p.level; level < depth_; ++level) {
        const int axis = axis_[node];
        const T diff = q[axis] - split_[node];
        const T gap = std::fabs(diff), old = p.off[axis];
        const T far = kNorm == 2 ? p.rd - old * old + gap * gap : p.rd - old + gap;
        // the left child holds the points at or below the split, the right one those at or
        // above
        const int64_t left = 2 * node + 1;
        if (far - far * T(1.0 / 4096) <= top.bound()) {
          Pending& f = stack[size++];
          f = p;
          f.node = diff < T(0) ? left + 1 : left;
          f.level = level + 1;
          f.rd = far;
          f.off[axis] = gap;
        }
        node = diff < T(0) ? left : left + 1;
      }
      scan_leaf<kNorm, kSlots>(node - first_leaf_, q, top);
    }
  }

  // Pushes the points of a leaf nearer than top's bound. The distances are rounded as
  // knn_distance rounds them (knn.h), so every path finds the same ones.
  template <int kNorm, int kSlots, typename Top>
  R3D_ALWAYS_INLINE void scan_leaf(int64_t leaf, const T* q, Top& top) const {
    const T* x = &coords_[leaf * 3 * kSlots];
    const T* y = x + kSlots;
    const T* z = y + kSlots;
    const T q0 = q[0], q1 = q[1], q2 = q[2];
    T d[kSlots];
    for (int j = 0; j < kSlots; ++j) {
      const T dx = q0 - x[j], dy = q1 - y[j], dz = q2 - z[j];
      d[j] = kNorm == 2 ? dx * dx + dy * dy + dz * dz
                        : std::fabs(dx) + std::fabs(dy) + std::fabs(dz);
    }
    const T bound = top.bound();
    T nearest = d[0];
    for (int j = 1; j < kSlots; ++j) nearest = std::min(nearest, d[j]);
    if (nearest > bound) return;
    // the slots that may enter, as bits (a branch per candidate, not per slot): for a single
    // nearest, those at the leaf's nearest distance only
    const T enter = Top::kSingle ? nearest : bound;
    uint32_t mask = 0;
    for (int j = 0; j < kSlots; ++j) mask |= static_cast<uint32_t>(d[j] <= enter) << j;
    mask &= (uint32_t{1} << count_[leaf]) - 1;  // (the unused slots are at infinity)
    const int32_t* ids = &ids_[leaf * kSlots];
    for (; mask != 0; mask &= mask - 1) {
      const int j = __builtin_ctz(mask);
      if (d[j] <= top.bound()) top.push(d[j], ids[j]);
    }
  }

  int depth_ = 0;
  int64_t first_leaf_ = 0;     // the number of inner nodes
  std::vector<Item> items_;    // the points with their original index, during the build
  std::vector<T> split_;       // split value of each inner node
  std::vector<uint8_t> axis_;  // its split axis
  int slots_ = kSlotStep;      // the slots of each leaf: a multiple of kSlotStep
  std::vector<T> coords_;      // leaf l's coordinate a in slot s at (3 l + a) slots_ + s
  std::vector<int32_t> ids_;   // the original index of the point in slot s of leaf l
  std::vector<int32_t> count_; // the points of each leaf
};

}  // namespace r3d
