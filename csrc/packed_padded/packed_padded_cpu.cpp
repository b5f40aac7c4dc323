#include "common/cpu_loop.h"
#include "packed_padded/packed_padded.h"
#include "packed_padded/packed_padded_launchers.h"

namespace r3d {

template <typename T>
Status packed_padded_cpu(const T* src, T* dst, const int64_t* first_idxs, int64_t num_batches,
                         int64_t max_size, int64_t num_packed, int64_t dim, bool to_padded,
                         T fill, int num_threads) {
  const PackedPaddedCopy<T> body{src,        dst, first_idxs, num_batches, max_size,
                                 num_packed, dim, to_padded,  fill};
  // a row: its source or destination index, then dim copies
  parallel_for(num_batches * max_size, 2 + dim, num_threads, body);
  return Status::ok();
}

template Status packed_padded_cpu<float>(const float*, float*, const int64_t*, int64_t, int64_t,
                                         int64_t, int64_t, bool, float, int);
template Status packed_padded_cpu<double>(const double*, double*, const int64_t*, int64_t,
                                          int64_t, int64_t, int64_t, bool, double, int);

}  // namespace r3d
