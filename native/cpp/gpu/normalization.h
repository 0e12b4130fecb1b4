// CUDA's BatchNorm and LayerNorm (normalization.cu) and their launch plans.
#pragma once
#include <cstdint>

#include <vector>

#include "gpu/launch_plan.h"
#include "gpu/reduce.h"
#include "ops/activation.h"
#include "ops/bias.h"

namespace dmdlk::cuda_ops {

template <typename T>
void batch_norm_forward(int device, const ChannelLayout& l, const T* x, const T* w, const T* b, T* running_mean,
                        T* running_var, bool training, Activation activation, T* y, T* mean, T* invstd);
template <typename T>
void batch_norm_backward(int device, const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* b,
                         const T* mean, const T* invstd, bool training, Activation activation, bool accumulate_dx,
                         T* dx, T* dw, T* db);
template <typename T>
void layer_norm_forward(int device, const ChannelLayout& l, const T* x, const T* w, const T* b, T* y, T* mean,
                        T* invstd);
template <typename T>
void layer_norm_backward(int device, const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* mean,
                         const T* invstd, bool accumulate_dx, T* dx, T* dw, T* db);

constexpr int64_t kNormThreads = 256;

// Element-wise over [outer, C, inner]: a block row per (outer, channel)
// plane where the planes fit the grid's y (the channel known per block, no
// division per element), else a flat grid.
inline cuda::LaunchPlan plan_channel_elementwise(const char* kernel, const ChannelLayout& l, double bytes,
                                                 double flops) {
  int64_t planes = l.outer * l.channels;
  if (planes > 65535 || l.inner < kNormThreads)
    return cuda::elementwise_plan(kernel, planes * l.inner, bytes, flops, kNormThreads);
  cuda::LaunchPlan p;
  p.kernel = kernel;
  p.grid = {cuda::blocks_to_cover(l.inner, kNormThreads), planes, 1};
  p.block.x = kNormThreads;
  p.bytes = bytes, p.flops = flops;
  return p;
}
inline bool channel_planes_grid(const ChannelLayout& l) {
  return l.outer * l.channels <= 65535 && l.inner >= kNormThreads;
}

// The flops per element of an activation and of its derivative (erf, exp).
inline double activation_flops(Activation a) { return a == Activation::Identity ? 0.0 : 20.0; }
inline double activation_grad_flops(Activation a) { return a == Activation::Identity ? 0.0 : 30.0; }

// BatchNorm, training: the channels' moments (Welford, in double) in
// gpu/reduce.h's one launch, whose finisher also updates the running
// statistics; then y = activation((x − mean)·invstd·w + b). Evaluation: the
// running statistics per channel, then the same normalisation.
inline std::vector<cuda::LaunchPlan> plan_batch_norm_forward(const ChannelLayout& l, int64_t element_bytes,
                                                             bool training, Activation activation) {
  double n = double(l.outer) * l.channels * l.inner;
  std::vector<cuda::LaunchPlan> plans =
      training ? plan_channel_reduce("batch_norm_stats", l, element_bytes, 1, 24, 4 * element_bytes)
               : std::vector<cuda::LaunchPlan>{cuda::elementwise_plan(
                     "batch_norm_running_stats", l.channels, 4.0 * l.channels * element_bytes, 4.0 * l.channels)};
  plans.push_back(
      plan_channel_elementwise("batch_norm_apply", l, 2 * n * element_bytes, (2 + activation_flops(activation)) * n));
  return plans;
}
// Σdy and Σdy·x̂ per channel (the bias and weight gradients) in one launch,
// then dx; dy taken back through the activation in both.
inline std::vector<cuda::LaunchPlan> plan_batch_norm_backward(const ChannelLayout& l, int64_t element_bytes,
                                                              Activation activation) {
  double n = double(l.outer) * l.channels * l.inner;
  std::vector<cuda::LaunchPlan> plans =
      plan_channel_reduce("batch_norm_grad_sums", l, element_bytes, 2, 16, 2 * element_bytes);
  plans[0].flops += activation_grad_flops(activation) * n;
  plans.push_back(plan_channel_elementwise("batch_norm_input_grad", l, 3 * n * element_bytes,
                                           (6 + activation_grad_flops(activation)) * n));
  return plans;
}

// LayerNorm: a warp per normalized group (a pixel's channels, or a row of the
// last axis), its lanes over the channels: two sums, then the outputs.
inline cuda::LaunchPlan plan_layer_norm_groups(const char* kernel, const ChannelLayout& l, int64_t element_bytes,
                                               int tensors) {
  int64_t groups = l.outer * l.inner;
  cuda::LaunchPlan p =
      cuda::elementwise_plan(kernel, groups * 32, double(groups) * l.channels * element_bytes * tensors,
                             8.0 * groups * l.channels, kNormThreads);
  p.serial_reduction = (l.channels + 31) / 32;
  return p;
}
inline cuda::LaunchPlan plan_layer_norm_forward(const ChannelLayout& l, int64_t element_bytes) {
  return plan_layer_norm_groups("layer_norm_forward", l, element_bytes, 2);
}
inline cuda::LaunchPlan plan_layer_norm_backward_dx(const ChannelLayout& l, int64_t element_bytes) {
  return plan_layer_norm_groups("layer_norm_backward_dx", l, element_bytes, 3);
}
// The weight and bias gradients: Σ over the groups of dy·x̂ and dy, per channel.
inline std::vector<cuda::LaunchPlan> plan_layer_norm_backward_params(const ChannelLayout& l, int64_t element_bytes) {
  return plan_channel_reduce("layer_norm_param_sums", l, element_bytes, 2, 16, 2 * element_bytes);
}

}  // namespace dmdlk::cuda_ops
