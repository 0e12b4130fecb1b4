// CUDA's data preparation and augmentation kernels (augment.cu) and their launch plans.
#pragma once
#include <cstdint>

#include "gpu/launch_plan.h"

namespace dmdlk::cuda_ops {

void unit_images(int device, int64_t batch, int64_t h, int64_t w, int64_t c, const uint8_t* in, float* out);
void warp_images(int device, int64_t batch, int64_t c, int64_t h, int64_t w, int64_t out_h, int64_t out_w,
                 const float* matrices, const float* in, float* out);
void warp_masks(int device, int64_t batch, int64_t h, int64_t w, const float* matrices, const uint8_t* in,
                int32_t* out);
void adjust_colour(int device, int64_t batch, int64_t h, int64_t w, const float* factors, float* x);
void blur_pass(int device, int64_t batch, int64_t c, int64_t h, int64_t w, const float* kernels, const int32_t* radii,
               int64_t max_taps, bool vertical, const float* in, float* out);
void to_network_input(int device, int64_t n, float* x);

constexpr int64_t kColourThreads = 256;

inline cuda::LaunchPlan plan_unit_images(int64_t n) {
  return cuda::elementwise_plan("unit_images", n, 5.0 * n, double(n));
}
inline cuda::LaunchPlan plan_warp_images(int64_t batch, int64_t c, int64_t h, int64_t w, int64_t out_h, int64_t out_w) {
  int64_t n = batch * c * out_h * out_w;
  return cuda::elementwise_plan("warp_images", n, 4.0 * (n + batch * c * h * w), 20.0 * n);
}
inline cuda::LaunchPlan plan_warp_masks(int64_t batch, int64_t h, int64_t w) {
  int64_t n = batch * h * w;
  return cuda::elementwise_plan("warp_masks", n, 5.0 * n, 10.0 * n);
}
// One block per image: its mean grey, then the jitter of each pixel.
inline cuda::LaunchPlan plan_adjust_colour(int64_t batch, int64_t h, int64_t w) {
  cuda::LaunchPlan p;
  p.kernel = "adjust_colour";
  p.grid.x = batch;
  p.block.x = kColourThreads;
  p.shared_bytes = 32 * 8;  // CUB's per-warp totals
  p.bytes = 4.0 * 3 * batch * h * w * 3;
  p.flops = 60.0 * batch * h * w;
  p.serial_reduction = cuda::blocks_to_cover(h * w, kColourThreads);
  return p;
}
inline cuda::LaunchPlan plan_blur_pass(int64_t batch, int64_t c, int64_t h, int64_t w, int64_t max_taps) {
  int64_t n = batch * c * h * w;
  cuda::LaunchPlan p = cuda::elementwise_plan("gaussian_blur", n, 8.0 * n, 2.0 * n * max_taps);
  p.serial_reduction = max_taps;
  return p;
}
inline cuda::LaunchPlan plan_to_network_input(int64_t n) {
  return cuda::elementwise_plan("to_network_input", n, 8.0 * n, double(n));
}

}  // namespace dmdlk::cuda_ops
