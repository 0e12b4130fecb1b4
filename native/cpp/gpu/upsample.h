// CUDA's bilinear ×2 upsampling and its gradient (upsample.cu), and their launch plans.
#pragma once
#include <cstdint>

#include "gpu/launch_plan.h"

namespace dmdlk::cuda_ops {

template <typename T>
void upsample2x_forward(int device, int64_t planes, int64_t h, int64_t w, const T* x, T* y);
template <typename T>
void upsample2x_backward(int device, int64_t planes, int64_t h, int64_t w, const T* dy, T* dx);

// One thread per output pixel, blending four inputs.
inline cuda::LaunchPlan plan_upsample2x_forward(int64_t planes, int64_t h, int64_t w, int64_t element_bytes) {
  int64_t n = planes * 4 * h * w;
  cuda::LaunchPlan p =
      cuda::elementwise_plan("upsample2x_forward", n, double(n + planes * h * w) * element_bytes, 8.0 * n);
  p.access = cuda::MemoryAccess::Gather;
  return p;
}
// One thread per input pixel, gathering the (at most 4×4) outputs it fed.
inline cuda::LaunchPlan plan_upsample2x_backward(int64_t planes, int64_t h, int64_t w, int64_t element_bytes) {
  int64_t n = planes * h * w;
  cuda::LaunchPlan p = cuda::elementwise_plan("upsample2x_backward", n, 5.0 * n * element_bytes, 32.0 * n);
  p.serial_reduction = 16;
  p.access = cuda::MemoryAccess::Gather;
  return p;
}

}  // namespace dmdlk::cuda_ops
