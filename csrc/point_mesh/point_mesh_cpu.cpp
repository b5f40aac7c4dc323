// CPU launchers of the point <-> mesh distances. The forward searches, per batch item, an AABB
// tree over the side being matched with (the primitives for point queries, the points for
// primitive queries), with the queries of each item in Morton order; the CUDA launcher gives the
// same results through trees built on the GPU (lbvh.h).
#include <algorithm>
#include <limits>
#include <new>
#include <vector>

#include "common/cpu_loop.h"
#include "common/morton.h"
#include "point_mesh/aabb_tree.h"
#include "point_mesh/point_mesh.h"
#include "point_mesh/point_mesh_launchers.h"

namespace r3d {

namespace {

// Cost units of a tree search of one query (its box tests and exact distances) and of the
// backward of one pair.
constexpr int64_t kSearchCost = 600;
constexpr int64_t kBackwardCost = 60;

// The forward of one body type (NearestForward<T, K, PointQueries>) with a tree per item.
template <typename T, typename Body>
Status forward_with_trees(const Body& body, int num_threads) {
  constexpr int Q = Body::kQueryCorners, C = Body::kCandidateCorners;
  const PointMeshForwardArgs<T>& a = body.a;
  const int64_t* q_first = body.q_first();
  const int64_t* c_first = body.c_first();
  const int64_t q_total = body.num_queries(), c_total = body.num_candidates();

  std::vector<AabbTree<T>> trees;
  std::vector<int64_t> tree_items;  // the items with queries and candidates
  std::vector<int64_t> order;       // the queries with candidates, item by item, in Morton order
  int64_t build_work = 0;
  try {
    trees.resize(a.num_items);
    std::vector<uint32_t> codes;
    std::vector<int64_t> scratch;
    for (int64_t n = 0; n < a.num_items; ++n) {
      const int64_t num_queries = item_end(q_first, a.num_items, q_total, n) - q_first[n];
      const int64_t num_candidates = item_end(c_first, a.num_items, c_total, n) - c_first[n];
      if (num_queries == 0) continue;
      if (num_candidates == 0) {
        std::fill_n(a.dists + q_first[n], num_queries, std::numeric_limits<T>::infinity());
        std::fill_n(a.idx + q_first[n], num_queries, int64_t{-1});
        continue;
      }
      tree_items.push_back(n);
      trees[n].allocate(num_candidates);
      append_morton_order(body.query(q_first[n]), 3 * Q, num_queries, q_first[n], order, codes,
                          scratch);
      build_work += AabbTree<T>::build_work(num_candidates);
    }
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory building the point_mesh search trees");
  }
  // one team builds the trees (a task per item) and then runs the searches
  parallel_build_then_for(
      static_cast<int64_t>(tree_items.size()), build_work, static_cast<int64_t>(order.size()),
      kSearchCost, num_threads,
      [&](int64_t j) {
        const int64_t n = tree_items[j];
        trees[n].build([&](int64_t k) { return box_of<T, C>(body.candidate(c_first[n] + k)); });
      },
      [&](int64_t r) {
        const int64_t q = order[r];
        const int64_t n = item_of(q_first, a.num_items, q);
        const int64_t c0 = c_first[n];
        Nearest<T> best;
        trees[n].nearest(box_of<T, Q>(body.query(q)),
                         [&](int64_t j) { return body.distance(q, c0 + j); }, best);
        a.dists[q] = best.dist;
        a.idx[q] = c0 + best.index;
      });
  return Status::ok();
}

}  // namespace

template <typename T>
Status point_mesh_forward_cpu(const PointMeshForwardArgs<T>& args, int corners,
                              bool point_queries, int num_threads) {
  return with_forward_body(args, corners, point_queries, [&](const auto& body) {
    return forward_with_trees<T>(body, num_threads);
  });
}

template <typename T>
Status point_mesh_backward_cpu(const PointMeshBackwardArgs<T>& args, int64_t num_queries,
                               int corners, bool point_queries, int num_threads) {
  return with_backward_body(args, corners, point_queries, [&](const auto& body) {
    parallel_for(num_queries, kBackwardCost, num_threads, body);
    return Status::ok();
  });
}

#define R3D_INSTANTIATE(T)                                                                    \
  template Status point_mesh_forward_cpu<T>(const PointMeshForwardArgs<T>&, int, bool, int); \
  template Status point_mesh_backward_cpu<T>(const PointMeshBackwardArgs<T>&, int64_t, int,  \
                                             bool, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
