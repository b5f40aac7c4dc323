// CPU launchers of knn_points: a kd-tree per 3D cloud, brute force in other dimensions.
#include <algorithm>
#include <new>
#include <type_traits>
#include <vector>

#include "common/cpu_loop.h"
#include "common/morton.h"
#include "knn/kdtree.h"
#include "knn/knn.h"
#include "knn/knn_launchers.h"
#include "knn/search_top.h"

namespace r3d {

namespace {

// Cost units of a brute-force distance per coordinate (a tree search's: KdTree::query_cost)
// and of putting a query in Morton order.
constexpr int64_t kBruteCostPerCoord = 2;
constexpr int64_t kOrderCostPerQuery = 16;

// Every 3D cloud with points gets a tree (a small one is a single leaf); other D brute force.
template <typename T>
bool use_tree(const KnnShape& s, int64_t len2) {
  return s.D == 3 && len2 > 0 && len2 <= KdTree<T>::kMaxPoints;
}

// Queries ahead whose coordinates and output rows the search loop prefetches (they are visited
// in Morton order, scattered in memory).
constexpr int64_t kPrefetchAhead = 4;

// Queries searched in turn by one thread (each capped by the one before).
constexpr int64_t kQueryBlock = 64;

// The largest distance from query q (3,) to the k points of cloud (P2, 3) that row (k,) names:
// at least the distance of q's k-th nearest point (they are k distinct points), rounded as the
// tree's leaf scan rounds it.
template <typename T>
T neighbour_cap(const T* q, const T* cloud, const int64_t* row, int64_t k, int norm) {
  T cap = T(0);
  for (int64_t s = 0; s < k; ++s) cap = std::max(cap, knn_distance(q, cloud + 3 * row[s], 3, norm));
  return cap;
}

// Calls fn(std::integral_constant<int, norm>{}, top) with the list of search_top.h that suits
// K, top being a value of its type (a tag: fn constructs its own per query).
template <typename T, typename Fn>
void dispatch_search(const KnnShape& s, const Fn& fn) {
  const auto with_norm = [&](auto top) {
    if (s.norm == 2) fn(std::integral_constant<int, 2>{}, top);
    else fn(std::integral_constant<int, 1>{}, top);
  };
  if (s.K == 1) with_norm(NearestTop<T>(nullptr, nullptr, 0));
  else if constexpr (std::is_same_v<T, float>) with_norm(KeyedTop(nullptr, nullptr, 0));
  else with_norm(SortedTop<T>(nullptr, nullptr, 0));
}

}  // namespace

template <typename T>
Status knn_forward_cpu(const T* p1, const T* p2, const int64_t* lengths1,
                       const int64_t* lengths2, KnnShape s, T* dists, int64_t* idx,
                       int num_threads) {
  std::vector<KdTree<T>> trees;
  std::vector<int64_t> tree_clouds;  // the clouds searched with a tree
  std::vector<int64_t> first;        // where each of those clouds' queries start in order
  // every query once: those that search a tree, cloud by cloud in Morton order, then the rest
  // (padded queries, clouds searched by brute force) in index order
  std::vector<int64_t> order;
  std::vector<uint32_t> codes;   // the Morton codes of the tree queries (as order)
  std::vector<int64_t> scratch;  // the sort's buffer (as order)
  int64_t build_work = 0, search_work = 0, num_tree_queries = 0;
  try {
    trees.resize(s.N);
    for (int64_t n = 0; n < s.N; ++n) {
      if (lengths1[n] == 0 || !use_tree<T>(s, lengths2[n])) continue;
      tree_clouds.push_back(n);
      first.push_back(num_tree_queries);
      num_tree_queries += lengths1[n];
      trees[n].allocate(lengths2[n]);
      build_work += KdTree<T>::build_work(lengths2[n]) + work_of(lengths1[n], kOrderCostPerQuery);
      search_work += work_of(lengths1[n], KdTree<T>::query_cost(lengths2[n], s.K));
    }
    order.resize(num_tree_queries);
    codes.resize(num_tree_queries);
    scratch.resize(num_tree_queries);
    order.reserve(s.N * s.P1);
    for (int64_t n = 0; n < s.N; ++n) {
      const bool tree = lengths1[n] > 0 && use_tree<T>(s, lengths2[n]);
      for (int64_t i = tree ? lengths1[n] : 0; i < s.P1; ++i) order.push_back(n * s.P1 + i);
      if (!tree) search_work += work_of(lengths1[n], work_of(lengths2[n], kBruteCostPerCoord * s.D + 1));
      search_work += work_of(s.P1 - lengths1[n], s.K);
    }
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory building the KNN search trees");
  }
  const int64_t num_queries = static_cast<int64_t>(order.size());
  const KnnBruteForce<T> brute{p1, p2, lengths1, lengths2, s, dists, idx};
  // task 2 j builds the tree of cloud tree_clouds[j], task 2 j + 1 puts its queries in order
  const auto build = [&](int64_t task) {
    const int64_t j = task / 2, n = tree_clouds[j];
    if (task % 2 == 0) {
      trees[n].build(p2 + n * s.P2 * s.D);
      return;
    }
    const int64_t start = first[j], count = lengths1[n];
    morton_codes(p1 + n * s.P1 * s.D, s.D, count, &codes[start]);
    morton_sort(&codes[start], count, &order[start], &scratch[start]);
    for (int64_t i = start; i < start + count; ++i) order[i] += n * s.P1;
  };
  const int64_t num_builds = 2 * static_cast<int64_t>(tree_clouds.size());
  const int64_t cost = search_work / std::max<int64_t>(num_queries, 1);
  const int64_t num_blocks = (num_queries + kQueryBlock - 1) / kQueryBlock;
  dispatch_search<T>(s, [&](auto norm, auto tag) {
    using Top = decltype(tag);
    // the queries order[r] for r in block b, in turn, each tree search capped by the distances
    // to the neighbours of the one before (a neighbour in Morton order) when it searched the
    // same cloud
    const auto search = [&](int64_t b) {
      int64_t previous = -1;
      for (int64_t r = b * kQueryBlock; r < std::min(num_queries, (b + 1) * kQueryBlock); ++r) {
        if (r + kPrefetchAhead < num_queries) {
          const int64_t ahead = order[r + kPrefetchAhead];
          __builtin_prefetch(p1 + ahead * s.D);
          __builtin_prefetch(dists + ahead * s.K, 1);
          __builtin_prefetch(idx + ahead * s.K, 1);
        }
        const int64_t q = order[r];
        const int64_t n = q / s.P1;
        if (q % s.P1 >= lengths1[n] || !use_tree<T>(s, lengths2[n])) {
          brute(q);
          previous = -1;
          continue;
        }
        const int64_t k = std::min(s.K, lengths2[n]);
        Top top(dists + q * s.K, idx + q * s.K, k);
        if (s.K > 1 && previous >= 0 && previous / s.P1 == n)
          top.cap(neighbour_cap(p1 + q * s.D, p2 + n * s.P2 * s.D, idx + previous * s.K, k, s.norm));
        trees[n].template query<decltype(norm)::value>(p1 + q * s.D, top);
        top.finish(s.K);
        previous = q;
      }
    };
    if (build_work < 2 * kMinThreadWork) {
      // builds too small to share: on this thread, then the searches in a region of one
      // barrier (each barrier may wait a time slice for a thread when the cores are busy)
      for (int64_t j = 0; j < num_builds; ++j) build(j);
      parallel_for_dynamic(num_blocks, cost * kQueryBlock, num_threads, search);
    } else {
      parallel_build_then_for(num_builds, build_work, num_blocks, cost * kQueryBlock,
                              num_threads, build, search);
    }
  });
  return Status::ok();
}

template <typename T>
Status knn_backward_cpu(const T* p1, const T* p2, const int64_t* lengths1,
                        const int64_t* lengths2, const int64_t* idx, const T* grad_dists,
                        KnnShape s, T* grad_p1, T* grad_pairs, int num_threads) {
  parallel_for(s.N * s.P1, 4 * s.K * s.D + s.D, num_threads,
               KnnBackward<T>{p1, p2, lengths1, lengths2, idx, grad_dists, s, grad_p1, grad_pairs});
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                      \
  template Status knn_forward_cpu<T>(const T*, const T*, const int64_t*, const int64_t*,        \
                                     KnnShape, T*, int64_t*, int);                              \
  template Status knn_backward_cpu<T>(const T*, const T*, const int64_t*, const int64_t*,       \
                                      const int64_t*, const T*, KnnShape, T*, T*, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
