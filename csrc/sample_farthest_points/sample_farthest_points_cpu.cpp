// CPU launcher of sample_farthest_points: clouds in parallel when there are enough of them for
// the threads, else one cloud after another, each step's work shared among the threads.
//
// D == 3: a cloud's points are put in Morton order and cut into blocks of kBlock points with
// their bounding boxes. A step skips a block when no distance in it can drop: when a lower bound
// of every distance to the new sample (from the box, with a margin over the rounding of the
// distances) exceeds the largest distance so far in the block, the block's distances and its
// best candidate stay as they are. Other blocks are scanned, several points at a time in vector
// registers (GCC / Clang vector extensions), with fps_scan's arithmetic. Any other D: fps_scan
// over contiguous shares. Candidates are reduced with fps_better (largest distance, then lowest
// index), so the samples are those of one scan in index order, bit for bit, however the points
// are ordered, split or skipped.
#include <algorithm>
#include <cstring>
#include <limits>
#include <new>
#include <type_traits>
#include <vector>

#include "common/cpu_loop.h"
#include "common/morton.h"
#include "sample_farthest_points/sample_farthest_points.h"
#include "sample_farthest_points/sample_farthest_points_launchers.h"

namespace r3d {

namespace {

// Cost units of a point's distance update in a step (any D), and of a block's part in a step of
// the block path (where most blocks are skipped after the first steps).
int64_t point_cost(int64_t D) { return 2 * D + 4; }
constexpr int64_t kBlockCost = 8;
// Points per block of the D == 3 path.
constexpr int64_t kBlock = 32;

// The steps of cloud n run by thread t of `threads` (one parallel_steps team, or threads == 1 on
// a thread of its own): scan(current, first) lowers the distances of this thread's share of the
// points given the new sample's coordinates and returns the share's best candidate (first: the
// first step, where no distance exists yet). partial (2 threads,) holds the shares' candidates
// of the even and odd steps, so that one barrier a step suffices (a slot is written again two
// steps later, after every thread has passed the barrier of the step in between).
template <int Dc, typename T, typename Scan>
void run_steps(const FpsArgs<T>& in, int64_t n, int t, int threads, FpsBest<T>* partial,
               const Scan& scan) {
  const int64_t count = fps_count(in.lengths, in.k, n);
  const T* cloud = in.points + n * in.s.P * in.s.D;
  int64_t* row = in.idx + n * in.s.max_k;
  int64_t current = in.start[n];
  for (int64_t i = 1; i < count; ++i) {
    T local[Dc > 0 ? Dc : 1];
    const T* at = cloud + current * in.s.D;
    if constexpr (Dc > 0) {
      for (int d = 0; d < Dc; ++d) local[d] = at[d];
      at = local;
    }
    const FpsBest<T> mine = scan(at, i == 1);
    if (threads == 1) {
      current = mine.index;
    } else {
      FpsBest<T>* slots = partial + (i & 1) * threads;
      slots[t] = mine;
      team_barrier();
      FpsBest<T> best = slots[0];
      for (int u = 1; u < threads; ++u) best = fps_better(best, slots[u]);
      current = best.index;
    }
    if (t == 0) row[i] = current;
  }
}

// Writes cloud n's first sample and its padding (thread 0 of its team).
template <typename T>
void start_row(const FpsArgs<T>& in, int64_t n, int t) {
  if (t != 0) return;
  const int64_t count = fps_count(in.lengths, in.k, n);
  int64_t* row = in.idx + n * in.s.max_k;
  fps_pad(row, count, in.s.max_k, 0, 1);
  if (count > 0) row[0] = in.start[n];
}

// Any D: thread t scans the points [length t / threads, length (t + 1) / threads).
template <int Dc, typename T>
void sample_cloud(const FpsArgs<T>& in, int64_t n, int t, int threads, FpsBest<T>* partial) {
  start_row(in, n, t);
  const int64_t length = in.lengths[n];
  const int64_t begin = length * t / threads, end = length * (t + 1) / threads;
  const T* cloud = in.points + n * in.s.P * in.s.D;
  T* dist = in.closest + n * in.s.P;
  run_steps<Dc>(in, n, t, threads, partial, [&](const T* current, bool first) {
    return fps_scan<Dc>(cloud, in.s.D, current, dist, begin, end, 1, first);
  });
}

// ---- D == 3: blocks.

// The integers of T's size: the original indices of the points in Morton order.
template <typename T>
using IndexOf = std::conditional_t<sizeof(T) == 4, int32_t, int64_t>;

// The D == 3 work arrays: per cloud n, its points' coordinates in Morton order as three arrays
// of P at xyz + 3 n P, their original indices at index + n P, Morton codes and sort scratch at
// codes / scratch + n P; per block (blocks_per_cloud a cloud, at n blocks_per_cloud) its box as
// six arrays (lo x, y, z, hi x, y, z: box + (6 n + a) blocks_per_cloud), the largest distance
// so far in it (largest) and the original index of the point holding it (holder; the lowest of
// those as large).
template <typename T>
struct BlockWork {
  T* xyz;
  IndexOf<T>* index;
  IndexOf<T>* scratch;
  uint32_t* codes;
  T* box;
  T* largest;
  int64_t* holder;
  int64_t blocks_per_cloud;
};

#if defined(__GNUC__)
// 16-byte vectors of T and of the integers of T's size (comparison masks, indices).
template <typename T>
struct Vec {
  typedef T V __attribute__((vector_size(16)));
  typedef IndexOf<T> I __attribute__((vector_size(16)));
  static constexpr int kLanes = 16 / sizeof(T);
};

// mask ? a : b lane by lane (mask lanes all ones or all zeros).
template <typename V, typename I>
inline V select(I mask, V a, V b) {
  return (V)((mask & (I)a) | (~mask & (I)b));
}
template <typename I>
inline I select_index(I mask, I a, I b) {
  return (mask & a) | (~mask & b);
}
#endif

// fps_scan over the points [begin, end) of a cloud in Morton order (coordinates x, y, z,
// original indices index, distances dist), with the same arithmetic; candidates by original
// index.
template <typename T>
FpsBest<T> scan_block(const T* x, const T* y, const T* z, const IndexOf<T>* index,
                      const T* current, T* dist, int64_t begin, int64_t end, bool first) {
  FpsBest<T> result = fps_none<T>();
  int64_t r = begin;
#if defined(__GNUC__)
  using V = typename Vec<T>::V;
  using I = typename Vec<T>::I;
  constexpr int L = Vec<T>::kLanes;
  if (end - begin >= L) {
    V best, cx, cy, cz;
    I at;
    for (int l = 0; l < L; ++l) {
      cx[l] = current[0];
      cy[l] = current[1];
      cz[l] = current[2];
      best[l] = fps_none<T>().value;
      at[l] = -1;
    }
    for (; r + L <= end; r += L) {
      V px, py, pz, old;
      I original;
      std::memcpy(&px, x + r, sizeof(V));
      std::memcpy(&py, y + r, sizeof(V));
      std::memcpy(&pz, z + r, sizeof(V));
      std::memcpy(&old, dist + r, sizeof(V));
      std::memcpy(&original, index + r, sizeof(I));
      const V dx = px - cx, dy = py - cy, dz = pz - cz;
      V d = dx * dx;
      d = d + dy * dy;
      d = d + dz * dz;
      const V c = first ? d : select(d < old, d, old);
      std::memcpy(dist + r, &c, sizeof(V));
      // strictly larger, or as large with a lower index: lanes see indices in any order here
      const I better = (c > best) | ((c == best) & (original < at));
      best = select(better, c, best);
      at = select_index(better, original, at);
    }
    for (int l = 0; l < L; ++l)
      result = fps_better(result, FpsBest<T>{best[l], static_cast<int64_t>(at[l])});
  }
#endif
  for (; r < end; ++r) {
    const T point[3] = {x[r], y[r], z[r]};
    const T d = squared_distance(point, current, int64_t{3});
    const T c = first || d < dist[r] ? d : dist[r];
    dist[r] = c;
    result = fps_better(result, FpsBest<T>{c, static_cast<int64_t>(index[r])});
  }
  return result;
}

// Calls scan(b) for each block b in [b0, b1) whose distances may drop for a new sample c: every
// block unless the squared distance from c to its box (rounded in T), less a relative margin far
// above the rounding of that and of squared_distance (a few units of T's last place each),
// exceeds the block's largest distance so far. Tiny (subnormal) bounds, whose rounding is not
// relative, never skip. Several blocks a test in vector registers.
template <typename T, typename Scan>
void scan_blocks_near(const T* box, int64_t stride, const T* largest, const T* c, int64_t b0,
                      int64_t b1, const Scan& scan) {
  constexpr T kMargin = T(1 - 1e-5), kSmallest = std::numeric_limits<T>::min() * T(1e12);
  int64_t b = b0;
#if defined(__GNUC__)
  using V = typename Vec<T>::V;
  using I = typename Vec<T>::I;
  constexpr int L = Vec<T>::kLanes;
  V zero, margin, smallest, cv[3];
  for (int l = 0; l < L; ++l) {
    zero[l] = T(0);
    margin[l] = kMargin;
    smallest[l] = kSmallest;
    for (int a = 0; a < 3; ++a) cv[a][l] = c[a];
  }
  for (; b + L <= b1; b += L) {
    V acc = zero, most;
    for (int a = 0; a < 3; ++a) {
      V lo, hi;
      std::memcpy(&lo, box + a * stride + b, sizeof(V));
      std::memcpy(&hi, box + (3 + a) * stride + b, sizeof(V));
      const V below = lo - cv[a], above = cv[a] - hi;
      V v = select(below > above, below, above);
      v = select(v > zero, v, zero);
      acc = acc + v * v;
    }
    std::memcpy(&most, largest + b, sizeof(V));
    const I skip = acc * margin > select(most > smallest, most, smallest);
    for (int l = 0; l < L; ++l)
      if (!skip[l]) scan(b + l);
  }
#endif
  for (; b < b1; ++b) {
    T acc = T(0);
    for (int a = 0; a < 3; ++a) {
      const T v = std::max(std::max(box[a * stride + b] - c[a], c[a] - box[(3 + a) * stride + b]),
                           T(0));
      acc += v * v;
    }
    if (!(acc * kMargin > std::max(largest[b], kSmallest))) scan(b);
  }
}

// The best candidate of the blocks [b0, b1): the largest of their largest distances (found
// several blocks at a time), then the lowest holder among the blocks that hold it.
template <typename T>
FpsBest<T> best_of_blocks(const T* largest, const int64_t* holder, int64_t b0, int64_t b1) {
  T most = fps_none<T>().value;
  int64_t b = b0;
#if defined(__GNUC__)
  using V = typename Vec<T>::V;
  constexpr int L = Vec<T>::kLanes;
  if (b1 - b0 >= L) {
    V m;
    std::memcpy(&m, largest + b, sizeof(V));
    for (b += L; b + L <= b1; b += L) {
      V x;
      std::memcpy(&x, largest + b, sizeof(V));
      m = select(x > m, x, m);
    }
    for (int l = 0; l < L; ++l) most = m[l] > most ? m[l] : most;
  }
#endif
  for (; b < b1; ++b) most = largest[b] > most ? largest[b] : most;
  FpsBest<T> best = fps_none<T>();
  for (b = b0; b < b1; ++b)
    if (largest[b] == most && (best.index < 0 || holder[b] < best.index))
      best = FpsBest<T>{most, holder[b]};
  return best;
}

// D == 3: thread 0 puts the cloud in Morton order; thread t then copies the points of the
// blocks [blocks t / threads, blocks (t + 1) / threads), boxes them and runs their steps.
template <typename T>
void sample_cloud_blocks(const FpsArgs<T>& in, const BlockWork<T>& w, int64_t n, int t,
                         int threads, FpsBest<T>* partial) {
  start_row(in, n, t);
  const int64_t P = in.s.P, length = in.lengths[n];
  if (fps_count(in.lengths, in.k, n) < 2) return;
  const T* cloud = in.points + n * P * 3;
  IndexOf<T>* index = w.index + n * P;
  if (t == 0) {
    morton_codes(cloud, 3, length, w.codes + n * P);
    morton_sort(w.codes + n * P, length, index, w.scratch + n * P);
  }
  if (threads > 1) team_barrier();
  const int64_t blocks = (length + kBlock - 1) / kBlock;
  const int64_t b0 = blocks * t / threads, b1 = blocks * (t + 1) / threads;
  T* x = w.xyz + n * 3 * P;
  T* y = x + P;
  T* z = y + P;
  const int64_t stride = w.blocks_per_cloud;
  T* box = w.box + 6 * n * stride;
  T* largest = w.largest + n * stride;
  int64_t* holder = w.holder + n * stride;
  for (int64_t b = b0; b < b1; ++b) {
    const int64_t end = std::min(length, (b + 1) * kBlock);
    for (int64_t r = b * kBlock; r < end; ++r) {
      const T* p = cloud + static_cast<int64_t>(index[r]) * 3;
      x[r] = p[0];
      y[r] = p[1];
      z[r] = p[2];
      for (int a = 0; a < 3; ++a) {
        T& lo = box[a * stride + b];
        T& hi = box[(3 + a) * stride + b];
        lo = r == b * kBlock || p[a] < lo ? p[a] : lo;
        hi = r == b * kBlock || p[a] > hi ? p[a] : hi;
      }
    }
  }
  T* dist = in.closest + n * P;
  run_steps<3>(in, n, t, threads, partial, [&](const T* current, bool first) {
    const auto scan = [&](int64_t b) {
      const FpsBest<T> best = scan_block(x, y, z, index, current, dist, b * kBlock,
                                         std::min(length, (b + 1) * kBlock), first);
      largest[b] = best.value;
      holder[b] = best.index;
    };
    if (first) {
      for (int64_t b = b0; b < b1; ++b) scan(b);
    } else {
      scan_blocks_near(box, stride, largest, current, b0, b1, scan);
    }
    return best_of_blocks(largest, holder, b0, b1);
  });
}

// Runs cloud(n, t, threads, partial) for every cloud: clouds in parallel when there are at least
// as many clouds to sample as threads worth using, else cloud after cloud with a team each. A
// step costs `cost` units per element, an element being `group` points.
template <typename T, typename Cloud>
Status sample_all(const FpsArgs<T>& in, int64_t group, int64_t cost, int num_threads,
                  const Cloud& cloud) {
  const FpsShape& s = in.s;
  const auto elements = [&](int64_t n) { return (in.lengths[n] + group - 1) / group; };
  int64_t sampled = 0, work = 0;  // clouds with more than one sample, and their work
  for (int64_t n = 0; n < s.N; ++n) {
    const int64_t steps = fps_count(in.lengths, in.k, n) - 1;
    if (steps < 1) continue;
    ++sampled;
    const int64_t w = work_of(steps, work_of(elements(n), cost));
    work = w > INT64_MAX - work ? INT64_MAX : work + w;
  }
  if (sampled >= threads_for(work, INT64_MAX, num_threads)) {
    parallel_for_dynamic(s.N, work / (s.N > 0 ? s.N : 1), num_threads,
                         [&](int64_t n) { cloud(n, 0, 1, static_cast<FpsBest<T>*>(nullptr)); });
    return Status::ok();
  }
  std::vector<FpsBest<T>> partial;
  try {
    partial.resize(2 * static_cast<size_t>(num_threads > 1 ? num_threads : 1));
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory in sample_farthest_points");
  }
  for (int64_t n = 0; n < s.N; ++n) {
    const int64_t steps = fps_count(in.lengths, in.k, n) - 1;
    parallel_steps(steps, elements(n), cost, num_threads,
                   [&](int t, int threads) { cloud(n, t, threads, partial.data()); });
  }
  return Status::ok();
}

template <typename T>
Status sample_with_blocks(const FpsArgs<T>& in, int num_threads) {
  const FpsShape& s = in.s;
  const int64_t blocks_per_cloud = (s.P + kBlock - 1) / kBlock;
  std::vector<T> xyz;
  std::vector<IndexOf<T>> index, scratch;
  std::vector<uint32_t> codes;
  std::vector<T> box, largest;
  std::vector<int64_t> holder;
  try {
    xyz.resize(static_cast<size_t>(s.N * 3 * s.P));
    index.resize(static_cast<size_t>(s.N * s.P));
    scratch.resize(static_cast<size_t>(s.N * s.P));
    codes.resize(static_cast<size_t>(s.N * s.P));
    box.resize(static_cast<size_t>(s.N * 6 * blocks_per_cloud));
    largest.resize(static_cast<size_t>(s.N * blocks_per_cloud));
    holder.resize(static_cast<size_t>(s.N * blocks_per_cloud));
  } catch (const std::bad_alloc&) {
    return Status::error("out of memory in sample_farthest_points");
  }
  const BlockWork<T> w{xyz.data(), index.data(),   scratch.data(), codes.data(),
                       box.data(), largest.data(), holder.data(),  blocks_per_cloud};
  return sample_all(in, kBlock, kBlockCost, num_threads,
                    [&](int64_t n, int t, int threads, FpsBest<T>* partial) {
                      sample_cloud_blocks(in, w, n, t, threads, partial);
                    });
}

template <int Dc, typename T>
Status sample_scanning(const FpsArgs<T>& in, int num_threads) {
  return sample_all(in, 1, point_cost(in.s.D), num_threads,
                    [&](int64_t n, int t, int threads, FpsBest<T>* partial) {
                      sample_cloud<Dc>(in, n, t, threads, partial);
                    });
}

}  // namespace

template <typename T>
Status sample_farthest_points_cpu(const FpsArgs<T>& in, int num_threads) {
  const FpsShape& s = in.s;
  if (s.D != 3) return sample_scanning<0>(in, num_threads);
  // the block path numbers points with integers of T's size
  if (sizeof(T) == 4 && s.P >= (int64_t{1} << 31)) return sample_scanning<3>(in, num_threads);
  return sample_with_blocks(in, num_threads);
}

template Status sample_farthest_points_cpu<float>(const FpsArgs<float>&, int);
template Status sample_farthest_points_cpu<double>(const FpsArgs<double>&, int);

}  // namespace r3d
