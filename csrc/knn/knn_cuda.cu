// CUDA launchers of knn_points: the brute-force body of knn.h, one thread per query.
#include "common/cuda_loop.cuh"
#include "knn/knn.h"
#include "knn/knn_launchers.h"

namespace r3d {

template <typename T>
Status knn_forward_cuda(const T* p1, const T* p2, const int64_t* lengths1,
                        const int64_t* lengths2, KnnShape s, T* dists, int64_t* idx,
                        uintptr_t stream) {
  return cuda_parallel_for(s.N * s.P1, stream,
                           KnnBruteForce<T>{p1, p2, lengths1, lengths2, s, dists, idx});
}

template <typename T>
Status knn_backward_cuda(const T* p1, const T* p2, const int64_t* lengths1,
                         const int64_t* lengths2, const int64_t* idx, const T* grad_dists,
                         KnnShape s, T* grad_p1, T* grad_pairs, uintptr_t stream) {
  return cuda_parallel_for(
      s.N * s.P1, stream,
      KnnBackward<T>{p1, p2, lengths1, lengths2, idx, grad_dists, s, grad_p1, grad_pairs});
}

#define R3D_INSTANTIATE(T)                                                                      \
  template Status knn_forward_cuda<T>(const T*, const T*, const int64_t*, const int64_t*,       \
                                      KnnShape, T*, int64_t*, uintptr_t);                       \
  template Status knn_backward_cuda<T>(const T*, const T*, const int64_t*, const int64_t*,      \
                                       const int64_t*, const T*, KnnShape, T*, T*, uintptr_t);
R3D_INSTANTIATE(float)
R3D_INSTANTIATE(double)
#undef R3D_INSTANTIATE

}  // namespace r3d
