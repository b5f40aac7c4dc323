// The CPU launcher loop: runs body(i) for i in [0, n) on num_threads OpenMP threads.
#pragma once

#include <cstdint>

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

}  // namespace r3d
