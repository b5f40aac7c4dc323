// A linear bounding-volume hierarchy (LBVH) per batch item, built on the GPU after Karras 2012
// ("Maximizing parallelism in the construction of BVHs, octrees and k-d trees"), for the CUDA
// point <-> mesh forward: the bodies of every step, shared by the CUDA kernels
// (point_mesh_cuda.cu) and their host emulation (point_mesh_emulate_cpu.cpp); the order of the
// steps is lbvh_schedule.h.
//
// Elements: a packed set of E elements (points, or primitives of C corners) cut into N items by
// first (N,). Sorting: each element's key is (item << 30 | the 30-bit Morton code of its box's
// centre in its item's box), sorted with the element indices 0 .. E-1 as values by a stable
// radix sort, so that ties keep the index order: sorted position p in [first[n], first[n] + m)
// holds element elems[p] of item n (m elements).
//
// Trees: item n's tree has the m sorted positions as leaves and m - 1 internal nodes in the slots
// first[n] + i, i in [0, m - 1) (slot first[n] + m - 1 stays unused), its root in slot first[n]
// (a lone element is its own tree). Internal node i splits the item's keys as Karras' radix tree
// does, the common prefix of two equal codes extended by that of their positions, so the tree
// depends on the keys and indices only. A child is coded as its slot (>= 0) or as ~position
// (< 0, a leaf); each internal node holds the boxes of its two children, so that a search reads
// one node to test both. Boxes are filled bottom-up: a thread per leaf writes its box into its
// parent and counts its arrival there; the second thread to arrive merges the two boxes and goes
// on up, the first stops.
//
// Search (a thread per query, queries in Morton order): from the root of the query's item, the
// children whose box is at most the best distance so far from the query's box (ties are visited,
// for the lowest-index rule), the nearer first, the farther on a small stack; at a leaf, the
// candidate's searched_distance (point_mesh.h: never below its box bound, so the pruning is
// exact), kept when smaller, or equal with a lower index. The boxes and distances are those of the
// CPU tree (aabb_tree.h), so both find the same match.
#pragma once

#include <cstdint>
#include <limits>

#include "common/macros.h"
#include "common/morton.h"
#include "point_mesh/point_mesh.h"

namespace r3d {

constexpr int kMortonBits = 30;
constexpr uint32_t kMortonMask = (uint32_t{1} << kMortonBits) - 1u;
// A search's stack: deeper than any tree, whose depth is at most the 30 bits of the codes plus
// the 31 bits of the positions (each level lengthens the common prefix).
constexpr int kLbvhStack = 64;

// An internal node: its children (slot, or ~position for a leaf) and their boxes.
template <typename T>
struct alignas(16) LbvhNode {
  Box<T> box[2];
  int32_t child[2];
};

// The box holding nothing: the identity of merge.
template <typename T>
R3D_HD inline Box<T> empty_box() {
  const T inf = std::numeric_limits<T>::infinity();
  return Box<T>{Vec3<T>{inf, inf, inf}, Vec3<T>{-inf, -inf, -inf}};
}

// merge as a reduction functor (the device's segmented reduction of the items' boxes).
struct BoxMerge {
  template <typename T>
  R3D_HD Box<T> operator()(const Box<T>& a, const Box<T>& b) const { return merge(a, b); }
};

R3D_HD inline int clz32(uint32_t v) {  // v != 0
#ifdef __CUDA_ARCH__
  return __clz(static_cast<int>(v));
#else
  return __builtin_clz(v);
#endif
}

// Counts an arrival at a node's flag and returns the count before it. On the device, fences
// order the thread's box write before its count and the sibling's box read after it.
R3D_HD inline int32_t arrive(int32_t* flag) {
#ifdef __CUDA_ARCH__
  __threadfence();
  const int32_t before = atomicAdd(flag, 1);
  __threadfence();
  return before;
#else
  return (*flag)++;  // the emulation runs the threads one after another
#endif
}

// A box read around the caches (written by another thread of the same kernel).
template <typename T>
R3D_HD inline Box<T> load_volatile(const Box<T>* box) {
  const volatile T* v = reinterpret_cast<const volatile T*>(box);
  return Box<T>{Vec3<T>{v[0], v[1], v[2]}, Vec3<T>{v[3], v[4], v[5]}};
}

// ends[n]: the end of item n's elements (a segmented reduction's end offsets).
struct ItemEnds {
  const int64_t* first;
  int64_t N, total;
  int64_t* ends;
  R3D_HD void operator()(int64_t n) const { ends[n] = item_end(first, N, total, n); }
};

// boxes[e]: the box of element e (K corners at coords + 3 K e).
template <typename T, int K>
struct ElementBoxes {
  const T* coords;
  Box<T>* boxes;
  R3D_HD void operator()(int64_t e) const { boxes[e] = box_of<T, K>(coords + 3 * K * e); }
};

// keys[e], values[e]: the sort key of element e (item, then Morton code of its box's centre in
// its item's box item_boxes[n]) and its index.
template <typename T>
struct MortonKeys {
  const int64_t* first;
  int64_t N;
  const Box<T>* boxes;
  const Box<T>* item_boxes;
  uint64_t* keys;
  int32_t* values;
  R3D_HD void operator()(int64_t e) const {
    const int64_t n = item_of(first, N, e);
    const Box<T>& b = boxes[e];
    const Box<T>& item = item_boxes[n];
    const T centre[3] = {(b.lo.x + b.hi.x) / 2, (b.lo.y + b.hi.y) / 2, (b.lo.z + b.hi.z) / 2};
    const T lo[3] = {item.lo.x, item.lo.y, item.lo.z}, hi[3] = {item.hi.x, item.hi.y, item.hi.z};
    keys[e] = static_cast<uint64_t>(n) << kMortonBits | morton_code(centre, lo, hi);
    values[e] = static_cast<int32_t>(e);
  }
};

// Karras' construction of internal node s (slot s of the item holding s; the unused slots and
// the lone elements return at once): its range of sorted positions and its split, from the
// common prefixes of the sorted keys; writes its children and their parent (s), and -1 as the
// parent of a root. parent: (2E,), internal slot s at s, leaf position p at E + p.
template <typename T>
struct LbvhConstruct {
  const int64_t* first;
  int64_t N, E;
  const uint64_t* keys;  // (E,) sorted
  LbvhNode<T>* nodes;    // (E,)
  int32_t* parent;       // (2E,)

  // Length of the common prefix of the keys of positions c0 + i and c0 + j of an item of m
  // elements (their codes, then their positions: keys are unique so), -1 for j out of it.
  R3D_HD int prefix(int64_t c0, int64_t m, int64_t i, int64_t j) const {
    if (j < 0 || j >= m) return -1;
    const uint32_t a = static_cast<uint32_t>(keys[c0 + i]) & kMortonMask;
    const uint32_t b = static_cast<uint32_t>(keys[c0 + j]) & kMortonMask;
    return a != b ? clz32(a ^ b) : 32 + clz32(static_cast<uint32_t>(i ^ j));
  }

  R3D_HD void operator()(int64_t s) const {
    const int64_t n = item_of(first, N, s);
    const int64_t c0 = first[n], m = item_end(first, N, E, n) - c0, i = s - c0;
    if (i >= m - 1) return;
    // the direction of the range from i, and its other end j
    const int64_t d = prefix(c0, m, i, i + 1) > prefix(c0, m, i, i - 1) ? 1 : -1;
    const int below = prefix(c0, m, i, i - d);
    int64_t reach = 2;
    while (prefix(c0, m, i, i + reach * d) > below) reach *= 2;
    int64_t len = 0;
    for (int64_t t = reach / 2; t >= 1; t /= 2)
      if (prefix(c0, m, i, i + (len + t) * d) > below) len += t;
    const int64_t j = i + len * d;
    // the split: the last position from i sharing more than the node's prefix with i
    const int node_prefix = prefix(c0, m, i, j);
    int64_t split = 0;
    for (int64_t t = len; t > 1;) {
      t = (t + 1) / 2;
      if (prefix(c0, m, i, i + (split + t) * d) > node_prefix) split += t;
    }
    const int64_t gamma = i + split * d + (d < 0 ? -1 : 0);
    const int64_t lo = d > 0 ? i : j, hi = d > 0 ? j : i;
    const int32_t left = static_cast<int32_t>(c0 + gamma);
    const int32_t right = left + 1;
    nodes[s].child[0] = gamma == lo ? ~left : left;
    nodes[s].child[1] = gamma + 1 == hi ? ~right : right;
    parent[gamma == lo ? E + left : left] = static_cast<int32_t>(s);
    parent[gamma + 1 == hi ? E + right : right] = static_cast<int32_t>(s);
    if (i == 0) parent[s] = -1;
  }
};

// The bottom-up box fill from leaf position p: its element's box into its parent, then, for the
// second of two children to arrive at a node, the merge of the node's two boxes into the node's
// parent, up to the root. flags (E,) start at 0; parent as written by LbvhConstruct, -1 for the
// leaf of a lone element.
template <typename T>
struct LbvhRefit {
  int64_t E;
  const int32_t* elems;   // (E,) element of each sorted position
  const Box<T>* boxes;    // (E,) element boxes, element order
  LbvhNode<T>* nodes;
  const int32_t* parent;
  int32_t* flags;

  R3D_HD void operator()(int64_t p) const {
    Box<T> box = boxes[elems[p]];
    int32_t node = ~static_cast<int32_t>(p);
    int32_t up = parent[E + p];
    while (up >= 0) {
      LbvhNode<T>& into = nodes[up];
      into.box[into.child[0] == node ? 0 : 1] = box;
      if (arrive(flags + up) == 0) return;  // the sibling's thread merges
      box = merge(load_volatile(&into.box[0]), load_volatile(&into.box[1]));
      node = up;
      up = parent[up];
    }
  }
};

// The nearest candidate of query order[t] (Forward: a NearestForward of point_mesh.h) through its
// item's tree: writes its squared distance and packed index (+inf and -1 for an item without
// candidates).
template <typename Forward>
struct LbvhNearest {
  using T = typename Forward::Scalar;
  Forward f;
  const LbvhNode<T>* nodes;  // the candidates' trees
  const int32_t* elems;      // (E,) candidate of each sorted position
  const int32_t* order;      // (Q,) queries in Morton order

  R3D_HD void operator()(int64_t t) const {
    const int64_t q = order[t];
    const int64_t N = f.a.num_items;
    const int64_t n = item_of(f.q_first(), N, q);
    const int64_t c0 = f.c_first()[n];
    const int64_t m = item_end(f.c_first(), N, f.num_candidates(), n) - c0;
    T best = std::numeric_limits<T>::infinity();
    int64_t arg = -1;
    if (m > 0) {
      const Box<T> query = box_of<T, Forward::kQueryCorners>(f.query(q));
      if (m == 1) {
        const Box<T> lone = box_of<T, Forward::kCandidateCorners>(f.candidate(c0));
        offer(q, c0, box_distance(lone, query), &best, &arg);
      } else {
        search(q, query, static_cast<int32_t>(c0), &best, &arg);
      }
    }
    f.a.dists[q] = best;
    f.a.idx[q] = arg;
  }

  // Keeps candidate j (of box bound `bound`) when nearer than the best, or as near with a lower
  // index (or as the first, even at an infinite distance: as the twin's argmin).
  R3D_HD void offer(int64_t q, int64_t j, T bound, T* best, int64_t* arg) const {
    const T d = searched_distance(f.distance(q, j), bound);
    if (d < *best || (d == *best && (*arg < 0 || j < *arg))) *best = d, *arg = j;
  }

  R3D_HD void search(int64_t q, const Box<T>& query, int32_t root, T* best, int64_t* arg) const {
    int32_t stack[kLbvhStack];
    T bound[kLbvhStack];
    int top = 0;
    int32_t node = root;
    for (;;) {
      const LbvhNode<T> at = nodes[node];
      const T b[2] = {box_distance(at.box[0], query), box_distance(at.box[1], query)};
      const int near = b[1] < b[0] ? 1 : 0;
      bool descend = false;
      for (int k = 0; k < 2; ++k) {
        const int side = k == 0 ? near : 1 - near;
        if (b[side] > *best) continue;
        const int32_t child = at.child[side];
        if (child < 0) {
          offer(q, elems[~child], b[side], best, arg);
        } else if (!descend) {
          node = child;
          descend = true;
        } else {
          stack[top] = child;
          bound[top] = b[side];
          ++top;
        }
      }
      while (!descend && top > 0) {
        --top;
        if (bound[top] <= *best) node = stack[top], descend = true;
      }
      if (!descend) return;
    }
  }
};

}  // namespace r3d
