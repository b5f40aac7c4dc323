// Scatter-add and atomic toggles for kernel bodies that write into shared arrays (host and
// device).
#pragma once

#include <cstdint>

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

// *addr ^= v as one atomic step, on the GPU and on the host (for bodies whose CPU threads share
// the array: the result does not depend on the order of the toggles).
R3D_HD inline void atomic_xor(int32_t* addr, int32_t v) {
#ifdef __CUDA_ARCH__
  atomicXor(addr, v);
#else
  __atomic_fetch_xor(addr, v, __ATOMIC_RELAXED);
#endif
}

}  // namespace r3d
