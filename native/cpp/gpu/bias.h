// CUDA's per-channel bias and its gradient (bias.cu), and their launch plans.
#pragma once
#include <cstdint>
#include <vector>

#include "gpu/launch_plan.h"
#include "gpu/reduce.h"
#include "ops/bias.h"

namespace dmdlk::cuda_ops {

template <typename T>
void add_bias(int device, const ChannelLayout& l, const T* bias, T* y);
template <typename T>
void bias_grad(int device, const ChannelLayout& l, const T* dy, T* grad);

// One thread per element; planes of `inner` are walked by a 2-D grid (the
// channel from the block, no division per element) where they are long.
inline cuda::LaunchPlan plan_add_bias(const ChannelLayout& l, int64_t element_bytes) {
  int64_t n = l.outer * l.channels * l.inner;
  return cuda::elementwise_plan("add_bias", n, 2.0 * n * element_bytes, double(n));
}

// Σ over outer and inner of dy, per channel: gpu/reduce.h's one launch.
inline std::vector<cuda::LaunchPlan> plan_bias_grad(const ChannelLayout& l, int64_t element_bytes) {
  return plan_channel_reduce("bias_grad", l, element_bytes, 1, 8, element_bytes);
}

}  // namespace dmdlk::cuda_ops
