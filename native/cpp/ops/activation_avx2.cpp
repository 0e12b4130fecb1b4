// activation_kernels.h's loops built for AVX2 + FMA; called only when
// cpu_features() reports both.
#include "ops/activation_kernels.h"

namespace dmdlk::activation_avx2 {

void forward(Activation a, const float* x, float* y, int64_t lo, int64_t hi) {
  activation_kernels::forward(a, x, y, lo, hi);
}

void backward(Activation a, const float* dy, const float* x, float* dx, int64_t lo, int64_t hi) {
  activation_kernels::backward(a, dy, x, dx, lo, hi);
}

}  // namespace dmdlk::activation_avx2
