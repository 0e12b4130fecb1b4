// CUDA's BatchNorm and LayerNorm (normalization.cu) and their launch plans.
#pragma once
#include <cstdint>

#include "cuda/launch_plan.h"
#include "ops/bias.h"

namespace dmdlk::cuda_ops {

template <typename T>
void batch_norm_forward(int device, const ChannelLayout& l, const T* x, const T* w, const T* b, T* running_mean,
                        T* running_var, bool training, T* y, T* mean, T* invstd);
template <typename T>
void batch_norm_backward(int device, const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* mean,
                         const T* invstd, bool training, T* dx, T* dw, T* db);
template <typename T>
void layer_norm_forward(int device, const ChannelLayout& l, const T* x, const T* w, const T* b, T* y, T* mean,
                        T* invstd);
template <typename T>
void layer_norm_backward(int device, const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* mean,
                         const T* invstd, T* dx, T* dw, T* db);

constexpr int64_t kNormThreads = 256;

// One block per channel: its threads reduce N·H·W / kNormThreads elements
// each (twice: the mean, then the variance), then normalize them.
inline cuda::LaunchPlan plan_batch_norm(const char* kernel, const ChannelLayout& l, int64_t element_bytes, int passes) {
  cuda::LaunchPlan p;
  p.kernel = kernel;
  p.grid.x = l.channels;
  p.block.x = kNormThreads;
  p.shared_bytes = 1024 * 8;
  double n = double(l.outer) * l.channels * l.inner;
  p.bytes = n * element_bytes * passes;
  p.flops = 6 * n;
  p.serial_reduction = cuda::blocks_to_cover(l.outer * l.inner, kNormThreads);
  return p;
}
inline cuda::LaunchPlan plan_batch_norm_forward(const ChannelLayout& l, int64_t element_bytes, bool training) {
  return plan_batch_norm("batch_norm_forward", l, element_bytes, training ? 4 : 2);
}
inline cuda::LaunchPlan plan_batch_norm_backward(const ChannelLayout& l, int64_t element_bytes) {
  return plan_batch_norm("batch_norm_backward", l, element_bytes, 5);
}

// One thread per normalized group (a pixel's channels), over its channels.
inline cuda::LaunchPlan plan_layer_norm_groups(const char* kernel, const ChannelLayout& l, int64_t element_bytes,
                                               int tensors) {
  int64_t groups = l.outer * l.inner;
  cuda::LaunchPlan p = cuda::elementwise_plan(kernel, groups, double(groups) * l.channels * element_bytes * tensors,
                                              8.0 * groups * l.channels);
  p.serial_reduction = l.channels;
  return p;
}
inline cuda::LaunchPlan plan_layer_norm_forward(const ChannelLayout& l, int64_t element_bytes) {
  return plan_layer_norm_groups("layer_norm_forward", l, element_bytes, 2);
}
inline cuda::LaunchPlan plan_layer_norm_backward_dx(const ChannelLayout& l, int64_t element_bytes) {
  return plan_layer_norm_groups("layer_norm_backward_dx", l, element_bytes, 3);
}
// One block per channel, reducing over the groups.
inline cuda::LaunchPlan plan_layer_norm_backward_params(const ChannelLayout& l, int64_t element_bytes) {
  cuda::LaunchPlan p;
  p.kernel = "layer_norm_backward_params";
  p.grid.x = l.channels;
  p.block.x = kNormThreads;
  p.shared_bytes = 1024 * 8;
  p.bytes = 2.0 * l.outer * l.inner * l.channels * element_bytes;
  p.flops = 4.0 * l.outer * l.inner * l.channels;
  p.serial_reduction = cuda::blocks_to_cover(l.outer * l.inner, kNormThreads);
  return p;
}

}  // namespace dmdlk::cuda_ops
