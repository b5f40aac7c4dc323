// Project-wide macros shared by the CPU and CUDA launchers.
#pragma once

#include <cstdint>

// R3D_HD marks a per-element kernel body: callable from host code and, under nvcc, from device code.
#ifdef __CUDACC__
#define R3D_HD __host__ __device__
#else
#define R3D_HD
#endif

namespace r3d {

// Status returned by every launcher. Launchers never throw: the binding turns a non-zero
// status into a Python exception.
struct Status {
  int code = 0;          // 0: success
  const char* message = "";
  static Status ok() { return Status{}; }
  static Status error(const char* msg) { return Status{1, msg}; }
  bool failed() const { return code != 0; }
};

}  // namespace r3d

// Returns the Status of expr from the enclosing function when it failed.
#define R3D_TRY(expr)                           \
  do {                                          \
    const ::r3d::Status r3d_status_ = (expr);   \
    if (r3d_status_.failed()) return r3d_status_; \
  } while (0)
