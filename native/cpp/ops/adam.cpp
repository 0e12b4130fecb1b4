#include "ops/adam.h"

#include <cmath>

#include "core/thread_pool.h"
#include "cuda/adam.cuh"
#include "ops/backend.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace cpu_ops {

template <typename T>
void adam_step(int64_t n, T* p, const T* g, T* m, T* v, double lr_corrected, double sqrt_bc2, const AdamOptions& o) {
  parallel_for(0, n, 16384, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) adam_update(p[i], g[i], m[i], v[i], lr_corrected, sqrt_bc2, o);
  });
}

template <typename T>
void count_nonfinite(int64_t n, const T* x, int32_t* counter) {
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(x[i]);
  *counter += int32_t(std::min<int64_t>(bad, INT32_MAX - *counter));
}

}  // namespace cpu_ops

void adam_step(Tensor& params, const Tensor& grads, Tensor& m, Tensor& v, const AdamOptions& o) {
  const char* op = "adam_step";
  check_floating(params, op, "params");
  for (auto [t, name] : {std::pair{&grads, "grads"}, {&m, "m"}, {&v, "v"}}) {
    check_compatible(*t, params, op, name, "params");
    check_shape(*t, params.shape(), op, name);
  }
  DMDLK_CHECK(o.step >= 1, ErrorCode::InvalidArg, op, ": step must be >= 1, got ", o.step);
  DMDLK_CHECK(
      o.lr >= 0 && o.eps > 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.weight_decay >= 0,
      ErrorCode::InvalidArg, op, ": needs lr >= 0, eps > 0, betas in [0, 1) and weight_decay >= 0");
  double lr_corrected = o.lr / (1 - std::pow(o.beta1, double(o.step)));
  double sqrt_bc2 = std::sqrt(1 - std::pow(o.beta2, double(o.step)));
  dispatch_floating(params.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(params.device(), adam_step, params.numel(), params.data<T>(), grads.data<T>(), m.data<T>(),
                    v.data<T>(), lr_corrected, sqrt_bc2, o);
  });
}

void count_nonfinite(const Tensor& t, Tensor& counter) {
  check_floating(t, "count_nonfinite", "t");
  DMDLK_CHECK(counter.dtype() == DType::I32 && counter.numel() == 1 && counter.device() == t.device(),
              ErrorCode::InvalidArg, "count_nonfinite: counter must be int32 [1] on t's device");
  dispatch_floating(t.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(t.device(), count_nonfinite, t.numel(), t.data<T>(), counter.data<int32_t>());
  });
}

}  // namespace dmdlk
