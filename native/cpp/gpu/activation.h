// CUDA's activations (activation.cu) and their launch plans.
#pragma once
#include <cstdint>

#include "gpu/launch_plan.h"
#include "ops/activation.h"

namespace dmdlk::cuda_ops {

template <typename T>
void activation_forward(int device, Activation a, int64_t n, const T* x, T* y);
template <typename T>
void activation_backward(int device, Activation a, int64_t n, const T* dy, const T* x, T* dx);

// One thread per element: x read, y written; the backward reads dy and x.
inline cuda::LaunchPlan plan_activation_forward(int64_t n, int64_t element_bytes) {
  return cuda::elementwise_plan("activation_forward", n, 2.0 * n * element_bytes, 20.0 * n);
}
inline cuda::LaunchPlan plan_activation_backward(int64_t n, int64_t element_bytes) {
  return cuda::elementwise_plan("activation_backward", n, 3.0 * n * element_bytes, 30.0 * n);
}

}  // namespace dmdlk::cuda_ops
