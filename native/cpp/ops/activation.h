// Point-wise activations and their derivatives, written once for both
// backends. GELU is the exact erf form (PyTorch's default).
#pragma once
#include <math.h>

#include "core/host_device.h"
#include "core/tensor.h"
#include "ops/enum_names.h"

namespace dmdlk {

enum class Activation { Gelu, Silu, Sigmoid };
inline constexpr EnumName<Activation> kActivationNames[] = {
    {Activation::Gelu, "gelu"}, {Activation::Silu, "silu"}, {Activation::Sigmoid, "sigmoid"}};

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
  }
  return T(0);  // not reached: the switch names every activation (-Werror=switch)
}

Tensor activation(Activation a, const Tensor& x);
// dx = dy ⊙ activate'(x)
Tensor activation_backward(Activation a, const Tensor& dy, const Tensor& x);

}  // namespace dmdlk
