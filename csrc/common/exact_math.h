// Products and sums rounded one operation at a time, on the GPU as on the host. nvcc fuses
// a * b + c into one fused multiply-add (one rounding instead of two), so a device kernel would
// otherwise round differently from its host twin; bodies whose results must match the CPU
// kernels bit for bit (the KNN distances, whose ties decide the neighbours) use these.
#pragma once

#include "common/macros.h"

namespace r3d {

// a * b and a + b for T = float or double.
template <typename T>
R3D_HD inline T mul_rn(T a, T b) {
#ifdef __CUDA_ARCH__
  if constexpr (sizeof(T) == sizeof(float)) return __fmul_rn(a, b);
  else return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
template <typename T>
R3D_HD inline T add_rn(T a, T b) {
#ifdef __CUDA_ARCH__
  if constexpr (sizeof(T) == sizeof(float)) return __fadd_rn(a, b);
  else return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

}  // namespace r3d
