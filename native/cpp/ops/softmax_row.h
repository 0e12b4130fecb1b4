// One row's softmax, shared by the softmax op and attention's probabilities:
// the row's maximum subtracted, e^v with fast_math.h's vectorizable exp for
// float (libm's for float64), then normalized. Files that include it are
// compiled with -fno-trapping-math so that its loops vectorize; NaN still
// propagates to the whole row.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "ops/blocked_sum.h"
#include "ops/fast_math.h"

namespace dmdlk {
namespace {

inline float exp_of(float v) { return fast_exp(v); }
inline double exp_of(double v) { return std::exp(v); }

// The maximum of a row in 8 explicit lanes (its sum: blocked_sum.h's): the
// compiler may not reorder a single accumulator's steps, but it vectorizes lanes.
constexpr int kLanes = 8;

template <typename T>
T row_max(const T* v, int64_t n) {
  T lanes[kLanes];
  std::fill(lanes, lanes + kLanes, T(-INFINITY));
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] = lanes[l] < v[i + l] ? v[i + l] : lanes[l];
  for (; i < n; ++i) lanes[0] = lanes[0] < v[i] ? v[i] : lanes[0];
  return *std::max_element(lanes, lanes + kLanes);
}

// out = softmax(in) (in may be out); returns the row's log-sum-exp.
template <typename T>
T softmax_row(const T* in, T* out, int64_t n) {
  T m = row_max(in, n);
  for (int64_t i = 0; i < n; ++i) out[i] = exp_of(in[i] - m);
  T sum = T(blocked_sum<T>(n, [&](int64_t i) { return out[i]; })), inverse = T(1) / sum;
  for (int64_t i = 0; i < n; ++i) out[i] *= inverse;
  return m + std::log(sum);
}

}  // namespace
}  // namespace dmdlk
