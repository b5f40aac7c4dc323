// Products and sums rounded one operation at a time, on the GPU as on the host. nvcc fuses
// a * b + c into one fused multiply-add (one rounding instead of two), so a device kernel would
// otherwise round differently from its host twin; bodies whose results must match the CPU
// kernels bit for bit (the KNN distances, whose ties decide the neighbours) use these.
#pragma once

#include "common/macros.h"

namespace r3d {

R3D_HD inline float mul_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fmul_rn(a, b);
#else
  return a * b;
#endif
}
R3D_HD inline double mul_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}
R3D_HD inline float add_rn(float a, float b) {
#ifdef __CUDA_ARCH__
  return __fadd_rn(a, b);
#else
  return a + b;
#endif
}
R3D_HD inline double add_rn(double a, double b) {
#ifdef __CUDA_ARCH__
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}

}  // namespace r3d
