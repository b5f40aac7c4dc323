// Per-row body of packed_to_padded / padded_to_packed, shared by CPU and CUDA.
//
// Packed rows (P, D) hold N segments back to back; segment b starts at first_idxs[b] and ends
// at first_idxs[b + 1] (or P for the last one). Padded rows (N, max_size, D) hold segment b in
// [b, 0:len_b). The body handles one padded row i = b * max_size + j.
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace r3d {

template <typename T>
struct PackedPaddedCopy {
  const T* src;                // packed (P, D) if to_padded, else padded (N, max_size, D)
  T* dst;                      // padded (N, max_size, D) if to_padded, else packed (P, D)
  const int64_t* first_idxs;   // (N,)
  int64_t num_batches;         // N
  int64_t max_size;
  int64_t num_packed;          // P
  int64_t dim;                 // D
  bool to_padded;
  T fill;                      // value of padded rows past a segment's end (to_padded only)

  R3D_HD void operator()(int64_t i) const {
    const int64_t b = i / max_size;
    const int64_t j = i - b * max_size;
    const int64_t start = first_idxs[b];
    const int64_t end = b + 1 < num_batches ? first_idxs[b + 1] : num_packed;
    const bool inside = start + j < end;
    if (to_padded) {
      T* out = dst + i * dim;
      const T* in = src + (start + j) * dim;
      for (int64_t d = 0; d < dim; ++d) out[d] = inside ? in[d] : fill;
    } else if (inside) {
      T* out = dst + (start + j) * dim;
      const T* in = src + i * dim;
      for (int64_t d = 0; d < dim; ++d) out[d] = in[d];
    }
  }
};

}  // namespace r3d
