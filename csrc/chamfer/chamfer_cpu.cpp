// CPU launchers of the fused Chamfer loss: both directions' nearest-neighbour searches in one
// parallel region (the kd-trees of knn/kdtree.h over every cloud of both sides built as tasks,
// then the queries), their per-cloud sums, and the backward that scatters the gradients onto
// both clouds, so that chamfer_distance makes one native call each way and no (N, P) temporary.
//
// The task that builds a cloud's tree also sorts the queries that search it in Morton order;
// threads then take them in blocks of kBlock. (Seeding each search with the previous query's
// nearest point, or with the triangle inequality's bound from it, was no faster: the first
// leaf already bounds the search well.) Sums are added per block, then the blocks of a cloud in
// order: the result does not depend on the threads.
#include <algorithm>
#include <limits>
#include <new>
#include <type_traits>
#include <vector>

#include "chamfer/chamfer_launchers.h"
#include "common/cpu_loop.h"
#include "common/distance.h"
#include "common/morton.h"
#include "knn/kdtree.h"
#include "knn/search_top.h"

namespace r3d {

namespace {

// Queries a thread takes at a time; their distances are summed together.
constexpr int64_t kBlock = 64;
// Queries ahead whose coordinates and index slot the search loop prefetches.
constexpr int64_t kPrefetchAhead = 4;
// Cost units of a K = 1 tree search, of a query's place in the Morton order, and of one point's
// gradient in the backward.
constexpr int64_t kQueryCost = 70;
constexpr int64_t kOrderCost = 12;
constexpr int64_t kGradientCost = 16;

// One direction: the valid points of each cloud of q searched among those of p.
template <typename T, typename Index>
struct Side {
  const T* q;  // (N, Pq, 3)
  const T* p;  // (N, Pp, 3)
  const int64_t* q_len;
  const int64_t* p_len;
  int64_t Pq, Pp;
  Index* idx;  // (N, Pq) int32
};

template <typename T, typename Index>
void make_sides(const T* x, const T* y, const int64_t* x_lengths, const int64_t* y_lengths,
                const ChamferShape& s, Index* x_idx, Index* y_idx, Side<T, Index>* sides) {
  sides[0] = {x, y, x_lengths, y_lengths, s.P1, s.P2, x_idx};
  sides[1] = {y, x, y_lengths, x_lengths, s.P2, s.P1, y_idx};
}

// Queries order[begin, end) (indices into cloud n's rows) of direction dir.
struct Block {
  int dir;
  int64_t n, begin, end;
};

}  // namespace

template <typename T>
Status chamfer_forward_cpu(const T* x, const T* y, const int64_t* x_lengths,
                           const int64_t* y_lengths, ChamferShape s, T* sums, int32_t* x_idx,
                           int32_t* y_idx, int num_threads) {
  Side<T, int32_t> sides[2];
  make_sides(x, y, x_lengths, y_lengths, s, x_idx, y_idx, sides);
  std::vector<KdTree<T>> trees;  // tree dir * N + n: over cloud n of sides[dir].p
  std::vector<Block> clouds;     // per tree searched: all its queries
  std::vector<Block> blocks;
  // each cloud's queries (row indices) in Morton order, with the work buffers of the sort
  std::vector<int32_t> order, scratch;
  std::vector<uint32_t> codes;
  std::vector<double> partial;   // each block's sum
  int64_t build_work = 0;
  try {
    trees.resize(s.directions * s.N);
    int64_t total = 0;
    for (int dir = 0; dir < s.directions; ++dir) {
      const Side<T, int32_t>& side = sides[dir];
      for (int64_t n = 0; n < s.N; ++n) {
        const int64_t queries = side.p_len[n] > 0 ? side.q_len[n] : 0;
        std::fill(side.idx + n * side.Pq + queries, side.idx + (n + 1) * side.Pq, 0);
        if (queries == 0) continue;
        trees[dir * s.N + n].allocate(side.p_len[n]);
        clouds.push_back({dir, n, total, total + queries});
        build_work += KdTree<T>::build_work(side.p_len[n]) + work_of(queries, kOrderCost);
        for (int64_t b = total; b < total + queries; b += kBlock)
          blocks.push_back({dir, n, b, std::min(b + kBlock, total + queries)});
        total += queries;
      }
    }
    order.resize(total);
    scratch.resize(total);
    codes.resize(total);
    partial.resize(blocks.size());
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory building the Chamfer search trees");
  }
  // the tree of a cloud and the order of the queries searching it, in one task
  const auto build = [&](int64_t k) {
    const Block& c = clouds[k];
    const Side<T, int32_t>& side = sides[c.dir];
    trees[c.dir * s.N + c.n].build(side.p + c.n * side.Pp * 3);
    morton_codes(side.q + c.n * side.Pq * 3, 3, c.end - c.begin, &codes[c.begin]);
    morton_sort(&codes[c.begin], c.end - c.begin, &order[c.begin], &scratch[c.begin]);
  };
  const auto run = [&](auto norm) {
    const auto search = [&](int64_t b) {
      const Block& block = blocks[b];
      const Side<T, int32_t>& side = sides[block.dir];
      const KdTree<T>& tree = trees[block.dir * s.N + block.n];
      const T* q = side.q + block.n * side.Pq * 3;
      int32_t* idx = side.idx + block.n * side.Pq;
      double sum = 0;
      for (int64_t r = block.begin; r < block.end; ++r) {
        if (r + kPrefetchAhead < block.end) {
          __builtin_prefetch(q + int64_t{order[r + kPrefetchAhead]} * 3);
          __builtin_prefetch(idx + order[r + kPrefetchAhead], 1);
        }
        const T* query = q + int64_t{order[r]} * 3;
        NearestTop<T> top(nullptr, nullptr, 1);  // read here, not finished into rows
        tree.template query<decltype(norm)::value>(query, top);
        idx[order[r]] = static_cast<int32_t>(top.j);  // 0 when only NaN distances were seen
        sum += top.d;
      }
      partial[b] = sum;
    };
    const int64_t num_builds = static_cast<int64_t>(clouds.size());
    const int64_t num_blocks = static_cast<int64_t>(blocks.size());
    parallel_build_then_for(num_builds, build_work, num_blocks, kQueryCost * kBlock,
                            num_threads, build, search);
  };
  if (s.norm == 2) run(std::integral_constant<int, 2>{});
  else run(std::integral_constant<int, 1>{});
  std::vector<double> totals(s.directions * s.N, 0.0);
  for (size_t b = 0; b < blocks.size(); ++b) totals[blocks[b].dir * s.N + blocks[b].n] += partial[b];
  for (int64_t k = 0; k < s.directions * s.N; ++k) sums[k] = static_cast<T>(totals[k]);
  return Status::ok();
}

template <typename T>
Status chamfer_backward_cpu(const T* x, const T* y, const int64_t* x_lengths,
                            const int64_t* y_lengths, const int32_t* x_idx, const int32_t* y_idx,
                            const T* grad_sums, ChamferShape s, T* grad_x, T* grad_y,
                            int num_threads) {
  Side<T, const int32_t> sides[2];
  make_sides(x, y, x_lengths, y_lengths, s, x_idx, y_idx, sides);
  T* grads[2] = {grad_x, grad_y};  // of sides[dir].q, and of sides[1 - dir].q
  // each cloud on one thread: its gradients gather from its own queries only, without atomics
  const auto cloud = [&](int64_t n) {
    std::fill(grad_x + n * s.P1 * 3, grad_x + (n + 1) * s.P1 * 3, T(0));
    std::fill(grad_y + n * s.P2 * 3, grad_y + (n + 1) * s.P2 * 3, T(0));
    for (int dir = 0; dir < s.directions; ++dir) {
      const Side<T, const int32_t>& side = sides[dir];
      if (side.p_len[n] == 0) continue;
      const T g = grad_sums[dir * s.N + n];
      const T* q = side.q + n * side.Pq * 3;
      const T* p = side.p + n * side.Pp * 3;
      const int32_t* idx = side.idx + n * side.Pq;
      T* grad_q = grads[dir] + n * side.Pq * 3;
      T* grad_p = grads[1 - dir] + n * side.Pp * 3;
      for (int64_t i = 0; i < side.q_len[n]; ++i) {
        const int64_t j = idx[i];
        T grad_j[3];
        pair_distance_gradient(q + i * 3, p + j * 3, g, 3, s.norm, grad_q + i * 3, grad_j);
        for (int d = 0; d < 3; ++d) grad_p[j * 3 + d] += grad_j[d];
      }
    }
  };
  const int64_t cost = kGradientCost * (s.P1 + s.P2);
  parallel_for_dynamic(s.N, cost, num_threads, cloud);
  return Status::ok();
}

#define R3D_INSTANTIATE(T)                                                                      \
  template Status chamfer_forward_cpu<T>(const T*, const T*, const int64_t*, const int64_t*,    \
                                         ChamferShape, T*, int32_t*, int32_t*, int);            \
  template Status chamfer_backward_cpu<T>(const T*, const T*, const int64_t*, const int64_t*,   \
                                          const int32_t*, const int32_t*, const T*,             \
                                          ChamferShape, T*, T*, int);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
