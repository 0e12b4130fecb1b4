#include "ops/activation.h"

#include "core/thread_pool.h"
#include "ops/op_checks.h"

namespace dmdlk {

Tensor activation(Activation a, const Tensor& x) {
  check_floating(x, "activation", "x");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    if (x.device().is_cpu()) {
      parallel_for(0, x.numel(), 16384, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) yp[i] = activate(a, xp[i]);
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
        for (int64_t i = lo; i < hi; ++i) dxp[i] = dyp[i] * activate_grad(a, xp[i]);
      });
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::activation_backward(x.device().index, a, x.numel(), dyp, xp, dxp));
    }
  });
  return dx;
}

}  // namespace dmdlk
