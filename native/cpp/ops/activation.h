// Point-wise activations and their derivatives, written once for both
// backends. GELU is the exact erf form (PyTorch's default). Identity is what
// a BatchNorm without an activation applies (BatchNormAttrs::activation).
#pragma once
#include <math.h>

#include "core/host_device.h"
#include "core/tensor.h"
#include "ops/enum_names.h"

namespace dmdlk {

enum class Activation { Gelu, Silu, Sigmoid, Identity };
inline constexpr EnumName<Activation> kActivationNames[] = {{Activation::Gelu, "gelu"},
                                                            {Activation::Silu, "silu"},
                                                            {Activation::Sigmoid, "sigmoid"},
                                                            {Activation::Identity, "identity"}};

DMDLK_HD float erf_of(float x) { return erff(x); }
DMDLK_HD double erf_of(double x) { return erf(x); }
DMDLK_HD float exp_of(float x) { return expf(x); }
DMDLK_HD double exp_of(double x) { return exp(x); }

template <typename T>
DMDLK_HD T sigmoid_of(T x) {
  return T(1) / (T(1) + exp_of(-x));
}

template <typename T>
DMDLK_HD T activate(Activation a, T x) {
  switch (a) {
    case Activation::Gelu: return T(0.5) * x * (T(1) + erf_of(x * T(0.70710678118654752440)));
    case Activation::Silu: return x * sigmoid_of(x);
    case Activation::Sigmoid: return sigmoid_of(x);
    case Activation::Identity: return x;
  }
  return x;  // not reached: the switch names every activation (-Werror=switch)
}

// d activate(x) / dx
template <typename T>
DMDLK_HD T activate_grad(Activation a, T x) {
  switch (a) {
    case Activation::Gelu:
      return T(0.5) * (T(1) + erf_of(x * T(0.70710678118654752440))) +
             x * exp_of(T(-0.5) * x * x) * T(0.39894228040143267794);  // 1/√(2π)
    case Activation::Silu: {
      T s = sigmoid_of(x);
      return s * (T(1) + x * (T(1) - s));
    }
    case Activation::Sigmoid: {
      T s = sigmoid_of(x);
      return s * (T(1) - s);
    }
    case Activation::Identity: return T(1);
  }
  return T(0);  // not reached: the switch names every activation (-Werror=switch)
}

// The CPU's loops over elements [lo, hi), on the calling thread (SIMD for
// float where the CPU has it): the activation op's, and BatchNorm's rows.
// In place (y == x, dx == x) is allowed.
template <typename T>
void activate_span(Activation a, const T* x, T* y, int64_t lo, int64_t hi);
// dx = dy ⊙ activate'(x)
template <typename T>
void activate_grad_span(Activation a, const T* dy, const T* x, T* dx, int64_t lo, int64_t hi);

Tensor activation(Activation a, const Tensor& x);
// dx = dy ⊙ activate'(x)
Tensor activation_backward(Activation a, const Tensor& dy, const Tensor& x);

}  // namespace dmdlk
