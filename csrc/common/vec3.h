// Minimal 3-vector arithmetic for kernel bodies (host and device).
#pragma once

#include <cmath>

#include "common/macros.h"

namespace r3d {

template <typename T>
struct Vec3 {
  T x, y, z;
  R3D_HD T operator[](int axis) const { return axis == 0 ? x : (axis == 1 ? y : z); }
};

template <typename T>
R3D_HD inline Vec3<T> load3(const T* p) { return Vec3<T>{p[0], p[1], p[2]}; }

template <typename T>
R3D_HD inline void store3(T* p, const Vec3<T>& v) { p[0] = v.x; p[1] = v.y; p[2] = v.z; }

template <typename T>
R3D_HD inline Vec3<T> operator+(const Vec3<T>& a, const Vec3<T>& b) {
  return Vec3<T>{a.x + b.x, a.y + b.y, a.z + b.z};
}

template <typename T>
R3D_HD inline Vec3<T> operator-(const Vec3<T>& a, const Vec3<T>& b) {
  return Vec3<T>{a.x - b.x, a.y - b.y, a.z - b.z};
}

template <typename T>
R3D_HD inline Vec3<T> operator*(const Vec3<T>& a, T s) { return Vec3<T>{a.x * s, a.y * s, a.z * s}; }

template <typename T>
R3D_HD inline T dot(const Vec3<T>& a, const Vec3<T>& b) { return a.x * b.x + a.y * b.y + a.z * b.z; }

template <typename T>
R3D_HD inline Vec3<T> cross(const Vec3<T>& a, const Vec3<T>& b) {
  return Vec3<T>{a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

template <typename T>
R3D_HD inline T norm(const Vec3<T>& a) { return sqrt(dot(a, a)); }

}  // namespace r3d
