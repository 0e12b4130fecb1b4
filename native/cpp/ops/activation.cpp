#include "ops/activation.h"

#include <type_traits>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "gpu/activation.h"
#include "ops/activation_kernels.h"
#include "ops/backend.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

// The float loops of activation_kernels.h, built for AVX-512 or AVX2 + FMA
// where the CPU has them, else the ones compiled here; double in plain loops.
template <typename T>
void activate_span(Activation a, const T* x, T* y, int64_t lo, int64_t hi) {
  if constexpr (std::is_same_v<T, float>) {
    const CpuFeatures& f = cpu_features();
    if (f.avx512f) activation_avx512::forward(a, x, y, lo, hi);
    else if (f.avx2 && f.fma) activation_avx2::forward(a, x, y, lo, hi);
    else activation_kernels::forward(a, x, y, lo, hi);
  } else {
    for (int64_t i = lo; i < hi; ++i) y[i] = activate(a, x[i]);
  }
}

template <typename T>
void activate_grad_span(Activation a, const T* dy, const T* x, T* dx, int64_t lo, int64_t hi) {
  if constexpr (std::is_same_v<T, float>) {
    const CpuFeatures& f = cpu_features();
    if (f.avx512f) activation_avx512::backward(a, dy, x, dx, lo, hi);
    else if (f.avx2 && f.fma) activation_avx2::backward(a, dy, x, dx, lo, hi);
    else activation_kernels::backward(a, dy, x, dx, lo, hi);
  } else {
    for (int64_t i = lo; i < hi; ++i) dx[i] = dy[i] * activate_grad(a, x[i]);
  }
}
template void activate_span<float>(Activation, const float*, float*, int64_t, int64_t);
template void activate_span<double>(Activation, const double*, double*, int64_t, int64_t);
template void activate_grad_span<float>(Activation, const float*, const float*, float*, int64_t, int64_t);
template void activate_grad_span<double>(Activation, const double*, const double*, double*, int64_t, int64_t);

namespace cpu_ops {

template <typename T>
void activation_forward(Activation a, int64_t n, const T* x, T* y) {
  parallel_for(0, n, 16384, [&](int64_t lo, int64_t hi) { activate_span(a, x, y, lo, hi); });
}

template <typename T>
void activation_backward(Activation a, int64_t n, const T* dy, const T* x, T* dx) {
  parallel_for(0, n, 16384, [&](int64_t lo, int64_t hi) { activate_grad_span(a, dy, x, dx, lo, hi); });
}

}  // namespace cpu_ops

Tensor activation(Activation a, const Tensor& x) {
  check_floating(x, "activation", "x");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), activation_forward, a, x.numel(), x.data<T>(), y.data<T>());
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
    DMDLK_ON_DEVICE(x.device(), activation_backward, a, x.numel(), dy.data<T>(), x.data<T>(), dx.data<T>());
  });
  return dx;
}

// ---- the graph's activations ------------------------------------------------------
extern const OpDef activation_op{
    OpKind::Activation,
    "activation",
    []() -> OpAttrs { return Activation::Gelu; },
    [](const std::vector<Shape>& in, const OpAttrs&) { return std::vector<Shape>{in[0]}; },
    [](const Tensors& in, const OpAttrs& a) { return Tensors{activation(std::get<Activation>(a), in[0])}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs& a, WantedGrads) {
      return Tensors{activation_backward(std::get<Activation>(a), d[0], in[0])};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      return OpCost{0, 2 * shapes_bytes(in)};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass pass, WantedGrads) {
      int64_t n = shape_numel(in[0]), bytes = int64_t(dtype_size(t));
      return std::vector<cuda::LaunchPlan>{pass == Pass::Forward ? cuda_ops::plan_activation_forward(n, bytes)
                                                                 : cuda_ops::plan_activation_backward(n, bytes)};
    },
};

}  // namespace dmdlk
