// The float activation loops of the CPU: one loop per activation, over
// fast_math.h's functions, so that each vectorizes (the shared activate() has
// a switch and libm calls). Compiled three times: in activation.cpp for any
// x86-64, in activation_avx2.cpp with -mavx2 -mfma (8 lanes instead of 4) and
// in activation_avx512.cpp with -mavx512f (16). Every copy has internal
// linkage (an unnamed namespace), so the linker can never hand a wider build
// of a function to a narrower path.
#pragma once
#include <cstdint>

#include "ops/activation.h"
#include "ops/fast_math.h"

namespace dmdlk {

namespace activation_avx2 {  // defined in activation_avx2.cpp
void forward(Activation a, const float* x, float* y, int64_t lo, int64_t hi);
void backward(Activation a, const float* dy, const float* x, float* dx, int64_t lo, int64_t hi);
}  // namespace activation_avx2

namespace activation_avx512 {  // defined in activation_avx512.cpp
void forward(Activation a, const float* x, float* y, int64_t lo, int64_t hi);
void backward(Activation a, const float* dy, const float* x, float* dx, int64_t lo, int64_t hi);
}  // namespace activation_avx512

namespace {
namespace activation_kernels {

constexpr float kSqrtHalf = 0.70710678118654752440f, kInvSqrt2Pi = 0.39894228040143267794f;

void forward(Activation a, const float* x, float* y, int64_t lo, int64_t hi) {
  switch (a) {
    case Activation::Gelu:
      for (int64_t i = lo; i < hi; ++i) y[i] = 0.5f * x[i] * (1.0f + fast_erf(x[i] * kSqrtHalf));
      break;
    case Activation::Silu:
      for (int64_t i = lo; i < hi; ++i) y[i] = x[i] / (1.0f + fast_exp(-x[i]));
      break;
    case Activation::Sigmoid:
      for (int64_t i = lo; i < hi; ++i) y[i] = 1.0f / (1.0f + fast_exp(-x[i]));
      break;
    case Activation::Identity:
      for (int64_t i = lo; i < hi; ++i) y[i] = x[i];
      break;
  }
}

void backward(Activation a, const float* dy, const float* x, float* dx, int64_t lo, int64_t hi) {
  switch (a) {
    case Activation::Gelu:
      for (int64_t i = lo; i < hi; ++i)
        dx[i] =
            dy[i] * (0.5f * (1.0f + fast_erf(x[i] * kSqrtHalf)) + x[i] * fast_exp(-0.5f * x[i] * x[i]) * kInvSqrt2Pi);
      break;
    case Activation::Silu:
      for (int64_t i = lo; i < hi; ++i) {
        float s = 1.0f / (1.0f + fast_exp(-x[i]));
        dx[i] = dy[i] * s * (1.0f + x[i] * (1.0f - s));
      }
      break;
    case Activation::Sigmoid:
      for (int64_t i = lo; i < hi; ++i) {
        float s = 1.0f / (1.0f + fast_exp(-x[i]));
        dx[i] = dy[i] * s * (1.0f - s);
      }
      break;
    case Activation::Identity:
      for (int64_t i = lo; i < hi; ++i) dx[i] = dy[i];
      break;
  }
}

}  // namespace activation_kernels
}  // namespace

}  // namespace dmdlk
