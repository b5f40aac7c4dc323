// CPU launchers of knn_points: a kd-tree per cloud where it pays, brute force elsewhere.
#include <new>
#include <vector>

#include "common/cpu_loop.h"
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
  if (num_threads < 1) num_threads = 1;
  std::vector<KdTree<T>> trees;
  try {
    trees.resize(s.N);
    for (int64_t n = 0; n < s.N; ++n)
      if (lengths1[n] > 0 && use_tree(s, lengths2[n])) trees[n].allocate(lengths2[n]);
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
  const KnnBruteForce<T> brute{p1, p2, lengths1, lengths2, s, dists, idx};
  const int64_t num_queries = s.N * s.P1;
#pragma omp parallel for schedule(dynamic, 64) num_threads(num_threads)
  for (int64_t q = 0; q < num_queries; ++q) {
    const int64_t n = q / s.P1;
    if (q % s.P1 < lengths1[n] && use_tree(s, lengths2[n])) {
      TopK<T> top(dists + q * s.K, idx + q * s.K, s.K);
      trees[n].query(p1 + q * s.D, top, s.norm);
    } else {
      brute(q);
    }
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
