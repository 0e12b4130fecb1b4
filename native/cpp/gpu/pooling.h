// CUDA's poolings and channel reductions (pooling.cu) and their launch plans.
#pragma once
#include <cstdint>

#include <vector>

#include "gpu/launch_plan.h"
#include "gpu/reduce.h"
#include "ops/pooling.h"

namespace dmdlk::cuda_ops {

// The backwards add into dx where `accumulate` says so (a gradient summed in place).
template <typename T>
void pool2d_forward(int device, PoolKind kind, const PoolGeometry& g, int64_t planes, const T* x, T* y);
template <typename T>
void pool2d_backward(int device, PoolKind kind, const PoolGeometry& g, int64_t planes, const T* x, const T* dy,
                     bool accumulate, T* dx);
template <typename T>
void global_avg_pool_forward(int device, int64_t planes, int64_t size, const T* x, T* y);
template <typename T>
void global_avg_pool_backward(int device, int64_t planes, int64_t size, const T* dy, bool accumulate, T* dx);
template <typename T>
void channel_reduce_forward(int device, ChannelReduce kind, int64_t n, int64_t c, int64_t hw, const T* x, T* y);
template <typename T>
void channel_reduce_backward(int device, ChannelReduce kind, int64_t n, int64_t c, int64_t hw, const T* x, const T* dy,
                             bool accumulate, T* dx);

constexpr int64_t kGlobalPoolThreads = 256;

// One thread per output, reducing its k×k window.
inline cuda::LaunchPlan plan_pool2d_forward(const PoolGeometry& g, int64_t planes, int64_t element_bytes) {
  int64_t n = planes * g.out_h * g.out_w;
  cuda::LaunchPlan p = cuda::elementwise_plan(
      "pool2d_forward", n, double(planes * g.height * g.width + n) * element_bytes, double(n) * g.kernel * g.kernel);
  p.serial_reduction = g.kernel * g.kernel;
  p.access = cuda::MemoryAccess::Gather;
  return p;
}
// One thread per input, gathering the outputs whose window holds it (max: each
// window's winner found again).
inline cuda::LaunchPlan plan_pool2d_backward(PoolKind kind, const PoolGeometry& g, int64_t planes,
                                             int64_t element_bytes) {
  int64_t n = planes * g.height * g.width, windows = cuda::blocks_to_cover(g.kernel, g.stride);
  windows *= windows;
  int64_t per_window = kind == PoolKind::Max ? g.kernel * g.kernel : 1;
  cuda::LaunchPlan p =
      cuda::elementwise_plan("pool2d_backward", n, double(2 * n + planes * g.out_h * g.out_w) * element_bytes,
                             double(n) * windows * per_window);
  p.serial_reduction = windows * per_window;
  p.access = cuda::MemoryAccess::Gather;
  return p;
}
// Each plane's mean: gpu/reduce.h's reduction with the planes as channels.
inline std::vector<cuda::LaunchPlan> plan_global_avg_pool_forward(int64_t planes, int64_t size, int64_t element_bytes) {
  return plan_channel_reduce("global_avg_pool_forward", ChannelLayout{1, planes, size}, element_bytes, 1, 8,
                             element_bytes);
}
inline cuda::LaunchPlan plan_global_avg_pool_backward(int64_t planes, int64_t size, int64_t element_bytes) {
  return cuda::elementwise_plan("global_avg_pool_backward", planes * size, double(planes) * (size + 1) * element_bytes,
                                double(planes) * size);
}
// A block per 32 pixels, its rows of threads each over every rows-th channel
// of a pixel (neighbouring threads on neighbouring pixels), the rows' sums
// (or maxima, the first in channel order winning ties, NaN winning over
// numbers) combined in order: 8 rows, or 32 where the pixels are too few to
// fill the GPU otherwise.
constexpr int64_t kChannelPixels = 32, kMaxChannelGroups = 32;
inline int64_t channel_groups(int64_t pixels) {
  return cuda::blocks_to_cover(pixels, kChannelPixels) >= 2 * 132 ? 8 : kMaxChannelGroups;
}
inline cuda::LaunchPlan plan_pixel_channels(const char* kernel, int64_t n, int64_t c, int64_t hw, int64_t element_bytes,
                                            double tensors) {
  int64_t groups = channel_groups(n * hw);
  cuda::LaunchPlan p;
  p.kernel = kernel;
  p.grid.x = cuda::blocks_to_cover(n * hw, kChannelPixels);
  p.block = {kChannelPixels, groups, 1};
  p.shared_bytes = kChannelPixels * kMaxChannelGroups * 24;
  p.bytes = double(n) * hw * c * element_bytes * tensors;
  p.flops = double(n) * hw * c;
  p.serial_reduction = cuda::blocks_to_cover(c, groups);
  return p;
}
inline cuda::LaunchPlan plan_channel_reduce_forward(int64_t n, int64_t c, int64_t hw, int64_t element_bytes) {
  return plan_pixel_channels("channel_reduce_forward", n, c, hw, element_bytes, 1);
}
// The backward reads x again where it finds the maximum's channel.
inline cuda::LaunchPlan plan_channel_reduce_backward(ChannelReduce kind, int64_t n, int64_t c, int64_t hw,
                                                     int64_t element_bytes) {
  return plan_pixel_channels("channel_reduce_backward", n, c, hw, element_bytes, kind == ChannelReduce::Mean ? 1 : 2);
}

}  // namespace dmdlk::cuda_ops
