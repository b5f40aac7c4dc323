// Launchers of packed_to_padded / padded_to_packed. Shapes are documented in packed_padded.h.
#pragma once

#include <cstdint>

#include "common/macros.h"

namespace r3d {

template <typename T>
Status packed_padded_cpu(const T* src, T* dst, const int64_t* first_idxs, int64_t num_batches,
                         int64_t max_size, int64_t num_packed, int64_t dim, bool to_padded,
                         T fill, int num_threads);
template <typename T>
Status packed_padded_cuda(const T* src, T* dst, const int64_t* first_idxs, int64_t num_batches,
                          int64_t max_size, int64_t num_packed, int64_t dim, bool to_padded,
                          T fill, uintptr_t stream);

}  // namespace r3d
