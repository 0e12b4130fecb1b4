#include "ops/activation.h"

#include <type_traits>

#include "core/thread_pool.h"
#include "ops/fast_math.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

constexpr float kSqrtHalf = 0.70710678118654752440f, kInvSqrt2Pi = 0.39894228040143267794f;

// float on the CPU: one loop per activation, over fast_math.h's functions, so
// each loop vectorizes (the shared activate() has a switch and libm calls).
void activation_cpu(Activation a, const float* x, float* y, int64_t lo, int64_t hi) {
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
  }
}

void activation_grad_cpu(Activation a, const float* dy, const float* x, float* dx, int64_t lo, int64_t hi) {
  switch (a) {
    case Activation::Gelu:
      for (int64_t i = lo; i < hi; ++i)
        dx[i] = dy[i] * (0.5f * (1.0f + fast_erf(x[i] * kSqrtHalf)) + x[i] * fast_exp(-0.5f * x[i] * x[i]) * kInvSqrt2Pi);
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
  }
}

}  // namespace

Tensor activation(Activation a, const Tensor& x) {
  check_floating(x, "activation", "x");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    if (x.device().is_cpu()) {
      parallel_for(0, x.numel(), 16384, [&](int64_t lo, int64_t hi) {
        if constexpr (std::is_same_v<T, float>) activation_cpu(a, xp, yp, lo, hi);
        else for (int64_t i = lo; i < hi; ++i) yp[i] = activate(a, xp[i]);
      });
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::activation_forward(x.device().index, a, x.numel(), xp, yp));
    }
  });
  return y;
}

Tensor activation_backward(Activation a, const Tensor& dy, const Tensor& x) {
  check_floating(x, "activation_backward", "x");
  check_compatible(dy, x, "activation_backward", "dy", "x");
  check_shape(dy, x.shape(), "activation_backward", "dy");
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *xp = x.data<T>(), *dyp = dy.data<T>();
    T* dxp = dx.data<T>();
    if (x.device().is_cpu()) {
      parallel_for(0, x.numel(), 16384, [&](int64_t lo, int64_t hi) {
        if constexpr (std::is_same_v<T, float>) activation_grad_cpu(a, dyp, xp, dxp, lo, hi);
        else for (int64_t i = lo; i < hi; ++i) dxp[i] = dyp[i] * activate_grad(a, xp[i]);
      });
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::activation_backward(x.device().index, a, x.numel(), dyp, xp, dxp));
    }
  });
  return dx;
}

}  // namespace dmdlk
