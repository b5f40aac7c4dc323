// A bounding-volume hierarchy over the boxes of one batch item's primitives (or points, whose
// boxes are the points themselves) for the CPU point <-> mesh launcher.
//
// Median splits of the box centres along the axis where they spread most, leaves of at most
// kLeaf elements. The node over [b, e) of the reordered elements splits at m = b + (e - b) / 2,
// so the tree is balanced and its nodes are numbered as a heap (node i has children 2i + 1 and
// 2i + 2), each with the box of its elements. Elements are stored in tree order with their box
// and original index, so a leaf is one contiguous run of memory.
//
// The nearest search visits the child whose box is nearer to the query's box first, and skips a
// node or an element only when its box is strictly farther than the best distance so far: the
// candidates that tie with the best are still evaluated, for the lowest-index tie rule. Elements
// are ranked by searched_distance (point_mesh.h), never below their box's bound, so the pruning
// is exact.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

#include "common/cpu_loop.h"
#include "point_mesh/point_mesh.h"

namespace r3d {

// The best candidate so far of one query.
template <typename T>
struct Nearest {
  T dist = std::numeric_limits<T>::infinity();
  int64_t index = -1;

  // Keeps the lowest index among equal distances; a first candidate is kept even at an infinite
  // distance (an overflowing square, e.g. of coordinates near 1e30 in float32), as the twin's
  // argmin keeps it.
  void offer(T d, int64_t j) {
    if (d < dist || (d == dist && (index < 0 || j < index))) dist = d, index = j;
  }
};

template <typename T>
class AabbTree {
 public:
  static constexpr int64_t kLeaf = 8;
  static constexpr int64_t kBuildCostPerLevel = 12;  // cost units of an element at a level

  // Cost units of building over n elements, for the launchers' threading policy (cpu_loop.h).
  static int64_t build_work(int64_t n) {
    int64_t levels = 1;
    for (int64_t size = n; size > kLeaf; size = (size + 1) / 2) ++levels;
    return work_of(n, kBuildCostPerLevel * levels);
  }

  // Reserves memory for n >= 1 elements (throws std::bad_alloc; call outside parallel regions).
  void allocate(int64_t n) {
    elems_.resize(n);
    // the sizes at depth d are floor and ceil of n / 2^d: count levels until they are leaves
    int64_t nodes = 1, width = 1;
    for (int64_t size = n; size > kLeaf; size = (size + 1) / 2) nodes += width *= 2;
    boxes_.resize(nodes);
  }

  // Builds over the boxes box_of(j) of the elements j in [0, n), n as given to allocate. Inside a
  // parallel region, builds large ranges as tasks of its team (fork_join).
  template <typename BoxOf>
  void build(const BoxOf& box_of) {
    const int64_t n = static_cast<int64_t>(elems_.size());
    for (int64_t j = 0; j < n; ++j) elems_[j] = Elem{box_of(j), j};
    build_node(0, 0, n);
  }

  // Offers best every element that may be nearer to a query of box `query` than best is:
  // distance(j) is the exact distance of the query to element j, box distances bound it below.
  template <typename Distance>
  void nearest(const Box<T>& query, const Distance& distance, Nearest<T>& best) const {
    search(0, 0, static_cast<int64_t>(elems_.size()), query, distance, best);
  }

 private:
  struct Elem {
    Box<T> box;
    int64_t index;
  };

  struct Child {
    int64_t node, b, e;
    T bound;  // squared distance of its box to the query's box
  };

  // Twice the centre of an element's box along axis.
  static T centre(const Elem& el, int axis) { return el.box.lo[axis] + el.box.hi[axis]; }

  void build_node(int64_t node, int64_t b, int64_t e) {
    Box<T> box = elems_[b].box;
    T lo[3], hi[3];
    for (int d = 0; d < 3; ++d) lo[d] = hi[d] = centre(elems_[b], d);
    for (int64_t j = b + 1; j < e; ++j) {
      box = merge(box, elems_[j].box);
      for (int d = 0; d < 3; ++d) {
        lo[d] = std::min(lo[d], centre(elems_[j], d));
        hi[d] = std::max(hi[d], centre(elems_[j], d));
      }
    }
    boxes_[node] = box;
    if (e - b <= kLeaf) return;
    int axis = 0;
    for (int d = 1; d < 3; ++d)
      if (hi[d] - lo[d] > hi[axis] - lo[axis]) axis = d;
    const int64_t m = b + (e - b) / 2;
    std::nth_element(elems_.begin() + b, elems_.begin() + m, elems_.begin() + e,
                     [axis](const Elem& x, const Elem& y) {
                       return centre(x, axis) < centre(y, axis);
                     });
    fork_join(build_work(e - b), [&] { build_node(2 * node + 1, b, m); },
              [&] { build_node(2 * node + 2, m, e); });
  }

  template <typename Distance>
  void search(int64_t node, int64_t b, int64_t e, const Box<T>& query, const Distance& distance,
              Nearest<T>& best) const {
    if (e - b <= kLeaf) {
      for (int64_t j = b; j < e; ++j) {
        const T bound = box_distance(elems_[j].box, query);
        if (bound > best.dist) continue;
        best.offer(searched_distance(distance(elems_[j].index), bound), elems_[j].index);
      }
      return;
    }
    const int64_t m = b + (e - b) / 2;
    Child near{2 * node + 1, b, m, box_distance(boxes_[2 * node + 1], query)};
    Child far{2 * node + 2, m, e, box_distance(boxes_[2 * node + 2], query)};
    if (far.bound < near.bound) std::swap(near, far);
    // a child is skipped only when its box is strictly farther than the best (ties are visited)
    if (near.bound <= best.dist) search(near.node, near.b, near.e, query, distance, best);
    if (far.bound <= best.dist) search(far.node, far.b, far.e, query, distance, best);
  }

  std::vector<Elem> elems_;   // the elements' boxes and original indices, in tree order
  std::vector<Box<T>> boxes_;  // the box of every node, heap order
};

}  // namespace r3d
