// The machinery of r3d._C's bindings (csrc/bindings.cpp): one call binds an op's <name>_cpu and
// <name>_cuda functions, each for float32 and float64.
//
// Python (r3d's native bridge, the only caller, which validates pointers and shapes) calls
//   <name>_cpu(dtype, *args, num_threads)     <name>_cuda(dtype, *args, stream)
// with dtype "float32" or "float64" and args raw data pointers (integers), sizes, scalars and
// settings tuples. The binding picks T = float or double from dtype (any other dtype raises
// ValueError), turns args into the launcher's arguments with the op's args-builder, and calls
// r3d::<name>_cpu<T>(built..., num_threads) or r3d::<name>_cuda<T>(built..., stream) with the GIL
// released; a failed Status raises RuntimeError. Built without CUDA, <name>_cuda still exists
// (same arguments) and fails with "r3d was built without CUDA launchers".
//
// Adding an op `foo` whose launchers are r3d::foo_cpu<T>(..., int num_threads) and
// r3d::foo_cuda<T>(..., uintptr_t stream):
//  1. In bindings.cpp, write its args-builder once: a function template over T whose parameters
//     are the Python arguments between dtype and num_threads / stream, and which returns the
//     launcher's other arguments as a tuple:
//       template <typename T>
//       auto foo_args(uintptr_t x, int64_t n, double eps, uintptr_t out) {
//         return std::make_tuple(ptr<const T>(x), n, static_cast<T>(eps), ptr<T>(out));
//       }
//     The parameter types are the Python signature: keep uintptr_t for addresses, int64_t for
//     sizes, double for scalars (cast to T here) and std::tuple for settings.
//  2. Register it in PYBIND11_MODULE with one line:
//       R3D_BIND_OP(m, foo, foo_args);
//     which defines foo_cpu(dtype, x, n, eps, out, num_threads) and
//     foo_cuda(dtype, x, n, eps, out, stream).
// To bind other launcher callables than r3d::<name>_cpu / _cuda, pass them with
// R3D_BIND_OP_WITH. Ops without a dtype (int64 only) use R3D_BIND_UNTYPED_OP
// with a plain function as builder.
#pragma once

#include <pybind11/pybind11.h>

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "common/macros.h"

namespace r3d::binding {

namespace py = pybind11;

#ifdef R3D_WITH_CUDA
inline constexpr bool kWithCuda = true;
#else
inline constexpr bool kWithCuda = false;
#endif

inline Status no_cuda() { return Status::error("r3d was built without CUDA launchers"); }

inline void raise_if_failed(const Status& s) {
  if (s.failed()) throw std::runtime_error(std::string("r3d native kernel failed: ") + s.message);
}

// The address p (a Python integer) as a T*.
template <typename T>
T* ptr(uintptr_t p) {
  return reinterpret_cast<T*>(p);
}

// Runs launch() (returning a Status) with the GIL released; a failed Status raises RuntimeError.
template <typename Launch>
void call_released(const Launch& launch) {
  Status s;
  {
    py::gil_scoped_release release;
    s = launch();
  }
  raise_if_failed(s);
}

// Calls fn(T{}) with T = float or double according to dtype.
template <typename Fn>
Status dispatch_float(const std::string& dtype, const Fn& fn) {
  if (dtype == "float32") return fn(float{});
  if (dtype == "float64") return fn(double{});
  throw std::invalid_argument("r3d native kernels support float32 and float64, got " + dtype);
}

// Defines name(dtype, py_args..., tail): builds the arguments for T with build_f / build_d and
// calls launch(T{}, built..., tail).
template <typename Tail, typename RF, typename RD, typename Launch, typename... PyArgs>
void def_typed(py::module_& m, const std::string& name, RF (*build_f)(PyArgs...),
               RD (*build_d)(PyArgs...), Launch launch) {
  m.def(name.c_str(), [=](const std::string& dtype, PyArgs... args, Tail tail) {
    call_released([&] {
      return dispatch_float(dtype, [&](auto zero) {
        auto built = [&] {
          if constexpr (std::is_same_v<decltype(zero), float>) return build_f(args...);
          else return build_d(args...);
        }();
        return std::apply([&](auto&&... a) { return launch(zero, a..., tail); }, built);
      });
    });
  });
}

// Binds <name>_cpu and <name>_cuda. build_f and build_d are an args-builder's float and double
// instances (their common parameters are the Python arguments); cpu and cuda are called as
// launch(T{}, built..., num_threads) and launch(T{}, built..., stream) (see R3D_LAUNCHER).
template <typename RF, typename RD, typename Cpu, typename Cuda, typename... PyArgs>
void bind_op(py::module_& m, const std::string& name, RF (*build_f)(PyArgs...),
             RD (*build_d)(PyArgs...), Cpu cpu, [[maybe_unused]] Cuda cuda) {
  def_typed<int>(m, name + "_cpu", build_f, build_d, cpu);
#ifdef R3D_WITH_CUDA
  def_typed<uintptr_t>(m, name + "_cuda", build_f, build_d, cuda);
#else
  def_typed<uintptr_t>(m, name + "_cuda", build_f, build_d,
                       [](auto, const auto&...) { return no_cuda(); });
#endif
}

// bind_op for an op without a dtype: <name>_cpu(py_args..., num_threads) and
// <name>_cuda(py_args..., stream) call cpu(built..., num_threads) / cuda(built..., stream).
template <typename R, typename Cpu, typename Cuda, typename... PyArgs>
void bind_untyped_op(py::module_& m, const std::string& name, R (*build)(PyArgs...), Cpu cpu,
                     [[maybe_unused]] Cuda cuda) {
  m.def((name + "_cpu").c_str(), [=](PyArgs... args, int num_threads) {
    call_released([&] {
      return std::apply([&](auto&&... a) { return cpu(a..., num_threads); }, build(args...));
    });
  });
  m.def((name + "_cuda").c_str(), [=](PyArgs... args, uintptr_t stream) {
#ifdef R3D_WITH_CUDA
    call_released([&] {
      return std::apply([&](auto&&... a) { return cuda(a..., stream); }, build(args...));
    });
#else
    ((void)args, ...);
    (void)stream;
    call_released([] { return no_cuda(); });
#endif
  });
}

}  // namespace r3d::binding

// The callable launch(T{}, args...) -> fn<T>(args...) for a launcher template fn. The call is
// only instantiated when used, so naming a CUDA launcher is fine in a build without CUDA.
#define R3D_LAUNCHER(fn) \
  [](auto zero, auto&&... a) { return fn<decltype(zero)>(a...); }

// Binds <name>_cpu and <name>_cuda for r3d::<name>_cpu<T> and r3d::<name>_cuda<T>, with the
// Python arguments of the args-builder template `builder`.
#define R3D_BIND_OP(m, name, builder) \
  R3D_BIND_OP_WITH(m, name, builder, R3D_LAUNCHER(r3d::name##_cpu), R3D_LAUNCHER(r3d::name##_cuda))

// R3D_BIND_OP with explicit launcher callables, called as launch(T{}, built..., tail).
#define R3D_BIND_OP_WITH(m, name, builder, cpu, cuda) \
  r3d::binding::bind_op(m, #name, &builder<float>, &builder<double>, cpu, cuda)

// Binds <name>_cpu and <name>_cuda of an op without a dtype: the plain launchers
// r3d::<name>_cpu / r3d::<name>_cuda and the args-builder function `builder`.
#define R3D_BIND_UNTYPED_OP(m, name, builder)                                      \
  r3d::binding::bind_untyped_op(                                                   \
      m, #name, &builder, [](auto&&... a) { return r3d::name##_cpu(a...); },        \
      [](auto&&... a) { return r3d::name##_cuda(a...); })
