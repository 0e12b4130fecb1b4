#include "ops/activation.h"

#include <type_traits>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ops/activation_kernels.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

// The float loops of activation_kernels.h, built for AVX-512 or AVX2 + FMA
// where the CPU has them, else the ones compiled here.
void activation_cpu(Activation a, const float* x, float* y, int64_t lo, int64_t hi) {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f) activation_avx512::forward(a, x, y, lo, hi);
  else if (f.avx2 && f.fma) activation_avx2::forward(a, x, y, lo, hi);
  else activation_kernels::forward(a, x, y, lo, hi);
}

void activation_grad_cpu(Activation a, const float* dy, const float* x, float* dx, int64_t lo, int64_t hi) {
  const CpuFeatures& f = cpu_features();
  if (f.avx512f) activation_avx512::backward(a, dy, x, dx, lo, hi);
  else if (f.avx2 && f.fma) activation_avx2::backward(a, dy, x, dx, lo, hi);
  else activation_kernels::backward(a, dy, x, dx, lo, hi);
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

// ---- the graph's activations (GELU, SiLU, sigmoid) --------------------------------
extern const OpDef activation_op{
    OpKind::Activation, "activation",
    [](const std::vector<Shape>& in, const OpAttrs&) { return std::vector<Shape>{in[0]}; },
    [](const Tensors& in, const OpAttrs& a) { return Tensors{activation(std::get<Activation>(a), in[0])}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs& a) {
      return Tensors{activation_backward(std::get<Activation>(a), d[0], in[0])};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) { return OpCost{0, 2 * shapes_bytes(in)}; },
    nullptr};

}  // namespace dmdlk
