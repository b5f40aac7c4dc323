// CPU launchers of knn_points: a kd-tree per cloud where it pays, brute force elsewhere.
#include <algorithm>
#include <new>
#include <vector>

#include "common/cpu_loop.h"
#include "common/morton.h"
#include "knn/kdtree.h"
#include "knn/knn.h"
#include "knn/knn_launchers.h"

namespace r3d {

namespace {

// Brute force wins for small clouds, for K close to the cloud size and for D != 3.
bool use_tree(const KnnShape& s, int64_t len2) {
  return s.D == 3 && len2 > 256 && 4 * s.K <= len2;
}

}  // namespace

template <typename T>
Status knn_forward_cpu(const T* p1, const T* p2, const int64_t* lengths1,
                       const int64_t* lengths2, KnnShape s, T* dists, int64_t* idx,
                       int num_threads) {
  // Small problems run on one thread: waking a team costs more than it saves there, and much
  // more when the cores are busy with other processes.
  const int64_t work = s.N * s.P1 * std::min<int64_t>(s.P2, 256);
  if (num_threads < 1 || work < (int64_t{1} << 16)) num_threads = 1;
  std::vector<KdTree<T>> trees;
  std::vector<int64_t> order;  // the queries that search a tree, cloud by cloud, Morton order
  try {
    trees.resize(s.N);
    std::vector<uint32_t> codes;
    std::vector<int64_t> scratch;
    for (int64_t n = 0; n < s.N; ++n) {
      if (lengths1[n] == 0 || !use_tree(s, lengths2[n])) continue;
      trees[n].allocate(lengths2[n]);
      append_morton_order(p1 + n * s.P1 * 3, 3, lengths1[n], n * s.P1, order, codes, scratch);
    }
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory building the KNN search trees");
  }
#pragma omp parallel num_threads(num_threads)
#pragma omp single
  for (int64_t n = 0; n < s.N; ++n) {
    if (lengths1[n] > 0 && use_tree(s, lengths2[n])) {
#pragma omp task firstprivate(n) shared(trees)
      trees[n].build(p2 + n * s.P2 * s.D);
    }
  }
  const int64_t num_tree_queries = static_cast<int64_t>(order.size());
#pragma omp parallel for schedule(dynamic, 256) num_threads(num_threads)
  for (int64_t r = 0; r < num_tree_queries; ++r) {
    const int64_t q = order[r];
    TopK<T> top(dists + q * s.K, idx + q * s.K, s.K);
    trees[q / s.P1].query(p1 + q * s.D, top, s.norm);
  }
  // the rest (padded queries, clouds searched by brute force)
  const KnnBruteForce<T> brute{p1, p2, lengths1, lengths2, s, dists, idx};
  const int64_t num_queries = s.N * s.P1;
#pragma omp parallel for schedule(dynamic, 64) num_threads(num_threads)
  for (int64_t q = 0; q < num_queries; ++q) {
    const int64_t n = q / s.P1;
    if (!(q % s.P1 < lengths1[n] && use_tree(s, lengths2[n]))) brute(q);
  }
  return Status::ok();
}

template <typename T>
Status knn_backward_cpu(const T* p1, const T* p2, const int64_t* lengths1,
                        const int64_t* lengths2, const int64_t* idx, const T* grad_dists,
                        KnnShape s, T* grad_p1, T* grad_pairs, int num_threads) {
  parallel_for(s.N * s.P1, num_threads,
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
