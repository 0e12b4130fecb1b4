// CUDA's losses (losses.cu) and their launch plans.
#pragma once
#include <cstdint>

#include "cuda/launch_plan.h"
#include "ops/losses.h"

namespace dmdlk::cuda_ops {

template <typename T>
void cross_entropy_forward(int device, const LossLayout& l, const T* logits, const int32_t* targets, T* loss);
template <typename T>
void cross_entropy_backward(int device, const LossLayout& l, const T* logits, const int32_t* targets, const T* dloss,
                            T* dlogits);
template <typename T>
void dice_forward(int device, const LossLayout& l, const T* logits, const int32_t* targets, T* loss);
template <typename T>
void dice_backward(int device, const LossLayout& l, const T* logits, const int32_t* targets, const T* dloss,
                   T* dlogits);

constexpr int64_t kLossReduceThreads = 1024;

// The sum over every pixel in one block of kLossReduceThreads (deterministic,
// the scalar stays on the device); `rounds` passes over the logits.
inline cuda::LaunchPlan plan_loss_sum(const char* kernel, const LossLayout& l, int64_t element_bytes, int64_t rounds) {
  cuda::LaunchPlan p;
  p.kernel = kernel;
  p.block.x = kLossReduceThreads;
  p.shared_bytes = 1024 * 8;
  p.bytes = double(l.pixels()) * (l.classes * element_bytes + 4) * rounds;
  p.flops = 10.0 * l.pixels() * l.classes * rounds;
  p.serial_reduction = cuda::blocks_to_cover(l.pixels(), kLossReduceThreads) * rounds;
  return p;
}
// One thread per pixel, writing its classes' gradients.
inline cuda::LaunchPlan plan_loss_pixels(const char* kernel, const LossLayout& l, int64_t element_bytes) {
  return cuda::elementwise_plan(kernel, l.pixels(), double(l.pixels()) * (2 * l.classes * element_bytes + 4),
                                12.0 * l.pixels() * l.classes);
}
inline cuda::LaunchPlan plan_cross_entropy_forward(const LossLayout& l, int64_t element_bytes) {
  return plan_loss_sum("cross_entropy_forward", l, element_bytes, 1);
}
inline cuda::LaunchPlan plan_cross_entropy_backward(const LossLayout& l, int64_t element_bytes) {
  return plan_loss_pixels("cross_entropy_backward", l, element_bytes);
}
inline cuda::LaunchPlan plan_dice_sums(const LossLayout& l, int64_t element_bytes) {
  return plan_loss_sum("dice_sums", l, element_bytes, l.classes);
}
// One thread turning the class sums into the loss.
inline cuda::LaunchPlan plan_dice_loss(const LossLayout& l) {
  cuda::LaunchPlan p;
  p.kernel = "dice_loss";
  p.bytes = 16.0 * l.classes;
  p.serial_reduction = l.classes;
  return p;
}
inline cuda::LaunchPlan plan_dice_backward(const LossLayout& l, int64_t element_bytes) {
  return plan_loss_pixels("dice_backward", l, element_bytes);
}

}  // namespace dmdlk::cuda_ops
