#include "common/cuda_loop.cuh"
#include "packed_padded/packed_padded.h"
#include "packed_padded/packed_padded_launchers.h"

namespace r3d {

template <typename T>
Status packed_padded_cuda(const T* src, T* dst, const int64_t* first_idxs, int64_t num_batches,
                          int64_t max_size, int64_t num_packed, int64_t dim, bool to_padded,
                          T fill, uintptr_t stream) {
  const PackedPaddedCopy<T> body{src,        dst, first_idxs, num_batches, max_size,
                                 num_packed, dim, to_padded,  fill};
  return cuda_parallel_for(num_batches * max_size, stream, body);
}

template Status packed_padded_cuda<float>(const float*, float*, const int64_t*, int64_t, int64_t,
                                          int64_t, int64_t, bool, float, uintptr_t);
template Status packed_padded_cuda<double>(const double*, double*, const int64_t*, int64_t,
                                           int64_t, int64_t, int64_t, bool, double, uintptr_t);

}  // namespace r3d
