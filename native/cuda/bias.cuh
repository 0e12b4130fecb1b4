// CUDA's per-channel bias and its gradient (bias.cu), and their launch plans.
#pragma once
#include <cstdint>

#include "cuda/launch_plan.h"
#include "ops/bias.h"

namespace dmdlk::cuda_ops {

template <typename T>
void add_bias(int device, const ChannelLayout& l, const T* bias, T* y);
template <typename T>
void bias_grad(int device, const ChannelLayout& l, const T* dy, T* grad);

constexpr int64_t kBiasGradThreads = 256;

inline cuda::LaunchPlan plan_add_bias(const ChannelLayout& l, int64_t element_bytes) {
  int64_t n = l.outer * l.channels * l.inner;
  return cuda::elementwise_plan("add_bias", n, 2.0 * n * element_bytes, double(n));
}
// One block per channel, reducing its outer · inner elements.
inline cuda::LaunchPlan plan_bias_grad(const ChannelLayout& l, int64_t element_bytes) {
  cuda::LaunchPlan p;
  p.kernel = "bias_grad";
  p.grid.x = l.channels;
  p.block.x = kBiasGradThreads;
  p.shared_bytes = kBiasGradThreads * element_bytes;
  p.bytes = double(l.outer) * l.channels * l.inner * element_bytes;
  p.flops = double(l.outer) * l.channels * l.inner;
  p.serial_reduction = cuda::blocks_to_cover(l.outer * l.inner, kBiasGradThreads);
  return p;
}

}  // namespace dmdlk::cuda_ops
