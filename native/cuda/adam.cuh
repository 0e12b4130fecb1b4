// CUDA's fused Adam step and non-finite count (adam.cu), and their launch plans.
#pragma once
#include <cstdint>

#include "cuda/launch_plan.h"
#include "ops/adam.h"

namespace dmdlk::cuda_ops {

template <typename T>
void adam_step(int device, int64_t n, T* params, const T* grads, T* m, T* v, double lr_corrected, double sqrt_bc2,
               const AdamOptions& o);
template <typename T>
void count_nonfinite(int device, int64_t n, const T* x, int32_t* counter);

// One thread per parameter: p, g, m, v read, p, m, v written.
inline cuda::LaunchPlan plan_adam_step(int64_t n, int64_t element_bytes) {
  return cuda::elementwise_plan("adam_step", n, 7.0 * n * element_bytes, 12.0 * n);
}
inline cuda::LaunchPlan plan_count_nonfinite(int64_t n, int64_t element_bytes) {
  return cuda::elementwise_plan("count_nonfinite", n, double(n) * element_bytes, double(n));
}

}  // namespace dmdlk::cuda_ops
