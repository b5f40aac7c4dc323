// The CPU launcher loop: runs body(i) for i in [0, n) on num_threads OpenMP threads.
#pragma once

#include <omp.h>

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

namespace r3d {

template <typename Body>
inline void parallel_for(int64_t n, int num_threads, const Body& body) {
  if (num_threads < 1) num_threads = 1;
#pragma omp parallel for schedule(static) num_threads(num_threads) if (n > 1024 && num_threads > 1)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// Like parallel_for for bodies whose cost varies a lot with i (e.g. a search over a batch item of
// any size): threads take small chunks as they go, so a few costly elements do not hold one
// thread back while the others idle.
template <typename Body>
inline void parallel_for_dynamic(int64_t n, int num_threads, const Body& body) {
  if (num_threads < 1) num_threads = 1;
#pragma omp parallel for schedule(dynamic, 16) num_threads(num_threads) if (n > 1 && num_threads > 1)
  for (int64_t i = 0; i < n; ++i) body(i);
}

// Like parallel_for for bodies that return an int code (0 for success); returns the largest code
// any element returned, so that a launcher can report bad input it met without stopping.
template <typename Body>
inline int parallel_for_max(int64_t n, int num_threads, const Body& body) {
  if (num_threads < 1) num_threads = 1;
  int worst = 0;
#pragma omp parallel for schedule(static) num_threads(num_threads) if (n > 1024 && num_threads > 1) reduction(max : worst)
  for (int64_t i = 0; i < n; ++i) {
    const int code = body(i);
    worst = code > worst ? code : worst;
  }
  return worst;
}

// Runs body(i) for i in [0, n) on num_threads threads, each body accumulating into an array of
// size values: make_body(acc) returns the body of a thread whose array is acc, which is out for
// the first thread and a zeroed buffer of its own for every other; the buffers are then added
// to out. O(size * num_threads) memory. Returns false when the buffers cannot be allocated.
template <typename T, typename MakeBody>
inline bool parallel_accumulate(int64_t n, int64_t size, T* out, int num_threads,
                                const MakeBody& make_body) {
  if (num_threads < 1) num_threads = 1;
  std::vector<T> partial;  // thread t > 0 accumulates into partial[(t - 1) * size ...]
  try {
    partial.assign(static_cast<size_t>((num_threads - 1) * size), T(0));
  } catch (const std::bad_alloc&) {
    return false;
  }
#pragma omp parallel num_threads(num_threads)
  {
    const int t = omp_get_thread_num();
    const auto body = make_body(t == 0 ? out : &partial[(t - 1) * size]);
#pragma omp for schedule(static)
    for (int64_t i = 0; i < n; ++i) body(i);
#pragma omp for schedule(static)
    for (int64_t j = 0; j < size; ++j)
      for (int u = 1; u < num_threads; ++u) out[j] += partial[(u - 1) * size + j];
  }
  return true;
}

}  // namespace r3d
