// The best K (distance, index) pairs of one kd-tree query (kdtree.h), in three forms: one pair
// in registers (K = 1) and a sorted list in the output rows, of pairs (K > 1 in float64) or of
// keys packing a pair into one integer (K > 1 in float32). (An unsorted buffer
// cut back by selection, or a max-heap, loses to the sorted list up to K = 32 at least: their
// bound is looser or their final sort costs more than the insertions.) All order pairs as TopK
// does (distance, then index).
//
// Each has bound(), the largest distance that may still enter (the cap until the list is full),
// cap(c), which lowers that bound to c before any push (c must be at least the distance of the
// k-th nearest point, e.g. the largest distance to k distinct points of the cloud: then nothing
// that belongs to the result is cut), push(d, j), which inserts the pair when it comes before
// the last one kept (the caller pushes only distances up to bound()), and finish(K), which
// leaves the list sorted in the caller's output rows followed by zeros up to K.
#pragma once

#include <cstdint>
#include <cstring>
#include <limits>

#include "common/top_k.h"

// Forces the inlining of a small function into its hot caller (GCC and Clang).
#if defined(__GNUC__)
#define R3D_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define R3D_ALWAYS_INLINE inline
#endif

namespace r3d {

// K = 1: the nearest pair so far.
template <typename T>
struct NearestTop {
  static constexpr bool kSingle = true;
  T* dists;
  int64_t* idx;
  bool found = false;
  T d = std::numeric_limits<T>::infinity();
  int64_t j = 0;

  NearestTop(T* d_out, int64_t* i_out, int64_t /*k*/) : dists(d_out), idx(i_out) {}

  T bound() const { return d; }
  void cap(T c) { d = c; }
  void push(T dist, int64_t index) {
    if (!found || TopK<T>::before(dist, index, d, j)) d = dist, j = index, found = true;
  }
  void finish(int64_t /*K*/) const {
    dists[0] = found ? d : T(0);
    idx[0] = found ? j : 0;
  }
};

// K > 1 in float64: the pairs kept sorted in the output rows (as TopK::push, inlined into the
// leaf scan).
template <typename T>
struct SortedTop {
  static constexpr bool kSingle = false;
  T* dists;
  int64_t* idx;
  int64_t k;
  int64_t count = 0;
  T limit = std::numeric_limits<T>::infinity();

  SortedTop(T* d_out, int64_t* i_out, int64_t k_) : dists(d_out), idx(i_out), k(k_) {}

  T bound() const { return count == k ? dists[k - 1] : limit; }
  void cap(T c) { limit = c; }
  R3D_ALWAYS_INLINE void push(T d, int64_t j) {
    int64_t pos = count;
    if (count == k) {
      if (!TopK<T>::before(d, j, dists[k - 1], idx[k - 1])) return;
      pos = k - 1;
    } else {
      ++count;
    }
    for (; pos > 0 && TopK<T>::before(d, j, dists[pos - 1], idx[pos - 1]); --pos)
      dists[pos] = dists[pos - 1], idx[pos] = idx[pos - 1];
    dists[pos] = d, idx[pos] = j;
  }
  void finish(int64_t K) const {
    for (int64_t s = count; s < K; ++s) dists[s] = T(0), idx[s] = 0;
  }
};

// K > 1 in float32: each pair packed into one int64 key, the distance's bits above the index
// (distances are never negative nor NaN, so their bits sort as they do), kept sorted in the
// index row: one integer comparison a step. finish unpacks them.
struct KeyedTop {
  static constexpr bool kSingle = false;
  float* dists;
  int64_t* keys;  // the index row
  int64_t k;
  int64_t count = 0;
  float limit = std::numeric_limits<float>::infinity();

  KeyedTop(float* d_out, int64_t* i_out, int64_t k_) : dists(d_out), keys(i_out), k(k_) {}

  static int64_t key(float d, int64_t j) {
    uint32_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    return static_cast<int64_t>(bits) << 32 | j;
  }
  float bound() const {
    if (count < k) return limit;
    const uint32_t bits = static_cast<uint32_t>(keys[k - 1] >> 32);
    float d;
    std::memcpy(&d, &bits, sizeof d);
    return d;
  }
  void cap(float c) { limit = c; }
  R3D_ALWAYS_INLINE void push(float d, int64_t j) {
    const int64_t c = key(d, j);
    int64_t pos = count;
    if (count == k) {
      if (c >= keys[k - 1]) return;
      pos = k - 1;
    } else {
      ++count;
    }
    for (; pos > 0 && c < keys[pos - 1]; --pos) keys[pos] = keys[pos - 1];
    keys[pos] = c;
  }
  void finish(int64_t K) const {
    for (int64_t s = 0; s < count; ++s) {
      const uint32_t bits = static_cast<uint32_t>(keys[s] >> 32);
      std::memcpy(&dists[s], &bits, sizeof bits);
      keys[s] &= 0xffffffff;
    }
    for (int64_t s = count; s < K; ++s) dists[s] = 0.0f, keys[s] = 0;
  }
};

}  // namespace r3d
