// Launchers of knn_points. Shapes are documented in knn.h.
#pragma once

#include <cstdint>

#include "common/macros.h"
#include "knn/knn.h"

namespace r3d {

template <typename T>
Status knn_forward_cpu(const T* p1, const T* p2, const int64_t* lengths1,
                       const int64_t* lengths2, KnnShape shape, T* dists, int64_t* idx,
                       int num_threads);
template <typename T>
Status knn_backward_cpu(const T* p1, const T* p2, const int64_t* lengths1,
                        const int64_t* lengths2, const int64_t* idx, const T* grad_dists,
                        KnnShape shape, T* grad_p1, T* grad_pairs, int num_threads);
template <typename T>
Status knn_forward_cuda(const T* p1, const T* p2, const int64_t* lengths1,
                        const int64_t* lengths2, KnnShape shape, T* dists, int64_t* idx,
                        uintptr_t stream);
// The CUDA forward's schedule run on the host, for tests on machines without a GPU
// (knn_emulate_cpu.cpp). Same arguments as the CPU launcher.
template <typename T>
Status knn_forward_emulated(const T* p1, const T* p2, const int64_t* lengths1,
                            const int64_t* lengths2, KnnShape shape, T* dists, int64_t* idx,
                            int num_threads);
template <typename T>
Status knn_backward_cuda(const T* p1, const T* p2, const int64_t* lengths1,
                         const int64_t* lengths2, const int64_t* idx, const T* grad_dists,
                         KnnShape shape, T* grad_p1, T* grad_pairs, uintptr_t stream);

}  // namespace r3d
