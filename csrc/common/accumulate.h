// Scatter-add for kernel bodies that add into shared arrays (host and device).
#pragma once

#include "common/macros.h"

namespace r3d {

// Adds v to *addr: atomically on the GPU, where the elements run concurrently; plainly on the
// CPU, where each thread accumulates into a buffer of its own (parallel_accumulate).
template <typename T>
R3D_HD inline void accumulate(T* addr, T v) {
#ifdef __CUDA_ARCH__
  atomicAdd(addr, v);
#else
  *addr += v;
#endif
}

}  // namespace r3d
