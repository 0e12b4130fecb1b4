// Branch-free float exp and erf for the CPU's element-wise loops, written so
// that the compiler vectorizes them (libm's expf/erff are calls it cannot):
//   fast_exp: Cody–Waite reduction to 2^n · e^f, |f| ≤ ln2/2, and the degree-6
//             Taylor polynomial of e^f (relative error below 3e-7, tested);
//   fast_erf: Abramowitz & Stegun 7.1.26 (1.5e-7 in exact arithmetic; below
//             1e-6 absolute in float, tested).
// float only: float64 runs (the gradient checks) keep libm. Files that use
// them are compiled with -fno-trapping-math (CMakeLists), which lets the
// compiler turn the clamps into vector min/max; NaN still propagates. Internal
// linkage, and builtins rather than <cmath>'s inline functions: a file built
// for AVX2 (activation_avx2.cpp) includes them too, and no copy of its build
// may be linked into the portable path.
#pragma once
#include <cstdint>

namespace dmdlk {
namespace {

inline float fast_exp(float x) {
  // The clamps are written `bound op x ? bound : x` so that each is one
  // vector max / min whose NaN operand passes through.
  x = -87.0f > x ? -87.0f : x;
  x = 88.0f < x ? 88.0f : x;
  // n = round(x / ln 2) by the 1.5·2^23 shifter: the sum's low mantissa bits
  // hold n in two's complement. No float-to-int conversion (undefined for
  // NaN, and a chain of selects when guarded); NaN stays NaN throughout.
  constexpr float kShifter = 12582912.0f;
  constexpr uint32_t kShifterBits = 0x4B400000u;
  float shifted = x * 1.44269504088896341f + kShifter;
  float n = shifted - kShifter;
  float f = x - n * 0.693145751953125f - n * 1.42860682030941723e-6f;
  float p =
      1.0f +
      f * (1.0f + f * (0.5f + f * (1.66666667e-1f + f * (4.16666667e-2f + f * (8.33333333e-3f + f * 1.38888889e-3f)))));
  uint32_t bits;
  __builtin_memcpy(&bits, &shifted, sizeof bits);
  bits = (bits - kShifterBits + 127u) << 23;  // 2^n: n + 127 is in [1, 254] after the clamp
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

inline float fast_erf(float x) {
  float a = __builtin_fabsf(x);
  float t = 1.0f / (1.0f + 0.3275911f * a);
  float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  float y = 1.0f - poly * fast_exp(-a * a);
  return __builtin_copysignf(y, x);
}

}  // namespace
}  // namespace dmdlk
