// Float or double arrays whose element type is known at run time. The
// per-channel reductions read and write through them, so one instantiation
// of a reduction kernel serves both element types (half their GPU code);
// they are bound by memory, where a uniform branch per element costs
// nothing. Values pass as double, as the reductions accumulate.
#pragma once
#include <cstdint>
#include <type_traits>

namespace dmdlk::cuda_ops {

struct FloatsIn {
  const void* data = nullptr;
  bool f64 = false;
  template <typename T>
  static FloatsIn of(const T* p) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
    return {p, std::is_same_v<T, double>};
  }
  __device__ bool empty() const { return data == nullptr; }
  __device__ double operator[](int64_t i) const {
    return f64 ? static_cast<const double*>(data)[i] : double(static_cast<const float*>(data)[i]);
  }
};

struct FloatsOut {
  void* data = nullptr;
  bool f64 = false;
  template <typename T>
  static FloatsOut of(T* p) {
    static_assert(std::is_same_v<T, float> || std::is_same_v<T, double>, "float or double");
    return {p, std::is_same_v<T, double>};
  }
  __device__ double operator[](int64_t i) const {
    return f64 ? static_cast<const double*>(data)[i] : double(static_cast<const float*>(data)[i]);
  }
  // Rounded to the array's type, as T(v) would.
  __device__ void set(int64_t i, double v) const {
    if (f64) static_cast<double*>(data)[i] = v;
    else static_cast<float*>(data)[i] = float(v);
  }
};

}  // namespace dmdlk::cuda_ops
