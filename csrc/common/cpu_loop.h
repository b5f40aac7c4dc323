// The CPU launchers' loops and the one place of their threading policy.
//
// Every OpenMP parallel region of the CPU launchers is opened here. A region costs a wake-up of
// the team and a barrier at its end: a few microseconds on an idle machine, up to a scheduler
// time slice when the cores are busy with other processes (a woken thread, or one that finishes
// last, may wait for a core), and with OpenMP's default wait policy the waiting threads spin and
// take cores from the others. So a loop takes threads only for work that pays for them:
//
// - The launcher states the cost of its elements in cost units (about a nanosecond of one core:
//   a few arithmetic operations or memory accesses). A loop whose work is below
//   2 * kMinThreadWork runs on the calling thread without entering any OpenMP region; otherwise
//   it takes at most one thread per kMinThreadWork of work (each thread gets at least that much,
//   as the grain size of at::parallel_for) and never more than num_threads, which is torch's
//   thread count as passed down by the Python bridge. No region runs without num_threads.
// - A team takes no more threads than there are cores that other processes leave idle at the
//   moment (machine_load.h): on a busy machine, more threads than idle cores are slower than
//   one (each region waits for its late threads, and OpenMP's spinning waiters take their cores).
// - Which thread runs which element never changes a result: the bodies of parallel_for write
//   their own outputs, and parallel_accumulate adds its per-thread buffers in a fixed order.
#pragma once

#include <omp.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <new>
#include <vector>

#include "machine_load.h"

namespace r3d {

// Work (cost units, about 130 us) below which a thread is not worth waking.
constexpr int64_t kMinThreadWork = int64_t{1} << 17;
// Work (cost units) of one chunk a thread takes at a time in the dynamic loops.
constexpr int64_t kMinChunkWork = int64_t{1} << 12;

// n elements of cost units each (saturating, costs below 1 count as 1).
inline int64_t work_of(int64_t n, int64_t cost) {
  cost = std::max<int64_t>(cost, 1);
  if (n <= 0) return 0;
  return n > std::numeric_limits<int64_t>::max() / cost ? std::numeric_limits<int64_t>::max()
                                                        : n * cost;
}

// Threads worth using for `work` cost units split into at most max_parts independent parts,
// with up to num_threads and no more than the cores other processes leave idle
// (machine_load.h): 1 when the work is below 2 * kMinThreadWork.
inline int threads_for(int64_t work, int64_t max_parts, int num_threads) {
  const int64_t useful = std::min(work / kMinThreadWork, max_parts);
  if (num_threads <= 1 || useful < 2) return 1;
  return usable_threads(static_cast<int>(std::min<int64_t>(num_threads, useful)));
}

// Elements in a chunk of a dynamic loop whose elements cost `cost` units each.
inline int64_t chunk_of(int64_t cost) {
  return std::max<int64_t>(1, kMinChunkWork / std::max<int64_t>(cost, 1));
}

// Runs body(i) for i in [0, n), each costing about `cost` units, the threads taking equal
// contiguous shares.
template <typename Body>
inline void parallel_for(int64_t n, int64_t cost, int num_threads, const Body& body) {
  const int threads = threads_for(work_of(n, cost), n, num_threads);
  if (threads == 1) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
#pragma omp parallel for schedule(static) num_threads(threads)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// Like parallel_for for bodies whose cost varies a lot with i (e.g. a search over a batch item of
// any size, a screen bin), `cost` being their mean: threads take chunks of about kMinChunkWork
// as they go, so a few costly elements do not hold one thread back while the others idle.
template <typename Body>
inline void parallel_for_dynamic(int64_t n, int64_t cost, int num_threads, const Body& body) {
  const int threads = threads_for(work_of(n, cost), n, num_threads);
  if (threads == 1) {
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
  const int64_t chunk = chunk_of(cost);
#pragma omp parallel for schedule(dynamic, chunk) num_threads(threads)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// Like parallel_for for bodies that return an int code (0 for success); returns the largest code
// any element returned, so that a launcher can report bad input it met without stopping.
template <typename Body>
inline int parallel_for_max(int64_t n, int64_t cost, int num_threads, const Body& body) {
  const int threads = threads_for(work_of(n, cost), n, num_threads);
  int worst = 0;
  if (threads == 1) {
    for (int64_t i = 0; i < n; ++i) worst = std::max(worst, body(i));
    return worst;
  }
#pragma omp parallel for schedule(static) num_threads(threads) reduction(max : worst)
  for (int64_t i = 0; i < n; ++i) {
    const int code = body(i);
    worst = code > worst ? code : worst;
  }
  return worst;
}

// Runs body(t, begin, end) for the `shares` contiguous shares [n t / shares, n (t + 1) / shares)
// of [0, n), in parallel over shares (shares as given by threads_for).
template <typename Body>
inline void parallel_shares(int64_t n, int shares, const Body& body) {
  if (shares <= 1) {
    body(0, int64_t{0}, n);
    return;
  }
#pragma omp parallel for schedule(static, 1) num_threads(shares)
  for (int t = 0; t < shares; ++t) body(t, n * t / shares, n * (t + 1) / shares);
}

// Runs build(j) for j in [0, num_builds) as tasks (which may split further with fork_join),
// then, once every build is done, body(i) for i in [0, n) like parallel_for_dynamic, all in one
// team: build_work is the cost of all the builds together, cost the mean cost of a body.
template <typename Build, typename Body>
inline void parallel_build_then_for(int64_t num_builds, int64_t build_work, int64_t n,
                                    int64_t cost, int num_threads, const Build& build,
                                    const Body& body) {
  const int64_t work = std::max(build_work, int64_t{0});
  const int64_t total = std::min(work, std::numeric_limits<int64_t>::max() - work_of(n, cost)) +
                        work_of(n, cost);
  const int threads = threads_for(total, std::max(num_builds, n), num_threads);
  if (threads == 1) {
    for (int64_t j = 0; j < num_builds; ++j) build(j);
    for (int64_t i = 0; i < n; ++i) body(i);
    return;
  }
  const int64_t chunk = chunk_of(cost);
#pragma omp parallel num_threads(threads)
  {
#pragma omp single
    for (int64_t j = 0; j < num_builds; ++j) {
#pragma omp task firstprivate(j)
      build(j);
    }
    // (the barrier closing the single waits for the builds and their tasks)
#pragma omp for schedule(dynamic, chunk)
    for (int64_t i = 0; i < n; ++i) body(i);
  }
}

// Work (cost units, about 65 us) of one thread's share of one step of parallel_steps below which
// the step's barrier costs more than the thread saves (waking sleeping threads at each barrier,
// with OMP_WAIT_POLICY=PASSIVE, takes tens of microseconds).
constexpr int64_t kMinStepWork = int64_t{1} << 16;

// For an iterative computation whose `steps` steps each cost `cost` units on each of n elements
// and need every element done before the next step: runs body(t, threads) once on each of
// `threads` threads at once (t in [0, threads)), one region for all the steps, the threads
// meeting at team_barrier() between steps. threads as threads_for the whole work, with at most
// one per kMinStepWork of a step's work; body(0, 1) on the calling thread when that is 1.
template <typename Body>
inline void parallel_steps(int64_t steps, int64_t n, int64_t cost, int num_threads,
                           const Body& body) {
  const int64_t step_work = work_of(n, cost);
  const int threads =
      threads_for(work_of(steps, step_work), step_work / kMinStepWork, num_threads);
  if (threads == 1) {
    body(0, 1);
    return;
  }
#pragma omp parallel num_threads(threads)
  body(omp_get_thread_num(), omp_get_num_threads());
}

// The barrier of the threads running a parallel_steps body (nothing on a single thread).
inline void team_barrier() {
#pragma omp barrier
}

// Runs left() and right(), which cost `work` units together: as two tasks of the current team
// when there is one and the work pays for a second thread, else one after the other. Returns when
// both are done.
template <typename Left, typename Right>
inline void fork_join(int64_t work, const Left& left, const Right& right) {
  if (work < 2 * kMinThreadWork || omp_get_num_threads() < 2) {
    left();
    right();
    return;
  }
#pragma omp task default(shared)
  right();
  left();
#pragma omp taskwait
}

// Runs body(i) for i in [0, n), each costing about `cost` units, each body accumulating into an
// array of size values: make_body(acc) returns the body of a thread whose array is acc, which is
// out for the first thread and a zeroed buffer of its own for every other; the buffers are then
// added to out, in thread order. Takes a second thread only when the work is larger than the
// buffer it needs, so O(size * threads) memory. Returns false when the buffers cannot be
// allocated.
template <typename T, typename MakeBody>
inline bool parallel_accumulate(int64_t n, int64_t cost, int64_t size, T* out, int num_threads,
                                const MakeBody& make_body) {
  const int64_t work = work_of(n, cost);
  const int threads = threads_for(work, work / std::max<int64_t>(size, 1), num_threads);
  if (threads == 1) {
    const auto body = make_body(out);
    for (int64_t i = 0; i < n; ++i) body(i);
    return true;
  }
  std::vector<T> partial;  // thread t > 0 accumulates into partial[(t - 1) * size ...]
  try {
    partial.assign(static_cast<size_t>((threads - 1) * size), T(0));
  } catch (const std::bad_alloc&) {
    return false;
  }
#pragma omp parallel num_threads(threads)
  {
    const int t = omp_get_thread_num();
    const auto body = make_body(t == 0 ? out : &partial[(t - 1) * size]);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) body(i);
#pragma omp for schedule(static)
    for (int64_t j = 0; j < size; ++j)
      for (int u = 1; u < threads; ++u) out[j] += partial[(u - 1) * size + j];
  }
  return true;
}

}  // namespace r3d
