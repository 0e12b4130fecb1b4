// CUDA's losses (losses.cu) and their launch plans.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "gpu/launch_plan.h"
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

constexpr int64_t kLossThreads = 256;

// Sums over every pixel in two stages (deterministic; the scalar stays on the
// device): blocks over chunks of the pixels, each writing `values` partial
// sums, then one block adding the chunks in order. Chunks of at least 4
// pixels a thread, at most 1024 of them.
inline int64_t loss_chunks(const LossLayout& l) {
  return std::max<int64_t>(1, std::min<int64_t>(1024, cuda::blocks_to_cover(l.pixels(), 4 * kLossThreads)));
}
inline std::vector<cuda::LaunchPlan> plan_loss_sums(const char* kernel, const LossLayout& l, int64_t element_bytes,
                                                    int64_t values) {
  int64_t chunks = loss_chunks(l);
  cuda::LaunchPlan pieces;
  pieces.kernel = std::string(kernel) + "_chunks";
  pieces.grid.x = chunks;
  pieces.block.x = kLossThreads;
  pieces.shared_bytes = 64 * 8;
  pieces.bytes = double(l.pixels()) * (l.classes * element_bytes + 4) + double(chunks) * values * 8;
  pieces.flops = 10.0 * l.pixels() * l.classes * values;
  pieces.serial_reduction = cuda::blocks_to_cover(cuda::blocks_to_cover(l.pixels(), chunks), kLossThreads) * values;
  cuda::LaunchPlan total;
  total.kernel = std::string(kernel) + "_total";
  total.block.x = kLossThreads;
  total.shared_bytes = 64 * 8;
  total.bytes = double(chunks) * values * 8;
  total.flops = double(chunks) * values;
  total.serial_reduction = cuda::blocks_to_cover(chunks, kLossThreads) * values;
  return {pieces, total};
}
// One thread per pixel, writing its classes' gradients.
inline cuda::LaunchPlan plan_loss_pixels(const char* kernel, const LossLayout& l, int64_t element_bytes) {
  return cuda::elementwise_plan(kernel, l.pixels(), double(l.pixels()) * (2 * l.classes * element_bytes + 4),
                                12.0 * l.pixels() * l.classes);
}
// The chunks' sums, their total, then the mean into the loss (one thread).
inline std::vector<cuda::LaunchPlan> plan_cross_entropy_forward(const LossLayout& l, int64_t element_bytes) {
  std::vector<cuda::LaunchPlan> plans = plan_loss_sums("cross_entropy_forward", l, element_bytes, 1);
  cuda::LaunchPlan mean;
  mean.kernel = "cross_entropy_mean";
  mean.bytes = 8.0 + element_bytes;
  plans.push_back(mean);
  return plans;
}
inline cuda::LaunchPlan plan_cross_entropy_backward(const LossLayout& l, int64_t element_bytes) {
  return plan_loss_pixels("cross_entropy_backward", l, element_bytes);
}
// Σ p_k t_k and Σ p_k + Σ t_k for every class k.
inline std::vector<cuda::LaunchPlan> plan_dice_sums(const LossLayout& l, int64_t element_bytes) {
  return plan_loss_sums("dice_sums", l, element_bytes, 2 * l.classes);
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
