// Depthwise convolution: one thread per output (forward) or input (dx, a
// gather) element; dw one block per (channel, tap) reducing over the batch.
#include <cub/block/block_reduce.cuh>

#include "core/index_divisor.h"
#include "cuda_check.cuh"
#include "gpu/conv2d.h"
#include "ops/backend.h"
#include "ops/depthwise_conv2d.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void forward_kernel(ConvGeometry g, ImageIndex outputs, int64_t planes, const T* x, const T* w, T* y) {
  int64_t out_plane = g.out_h * g.out_w, taps = g.kernel_h * g.kernel_w;
  DMDLK_GRID_LOOP(e, planes * out_plane) {
    int64_t n, c, oy, ox;
    const int64_t p = outputs.split(e, n, c, oy, ox);
    y[e] = depthwise_at(g, x + p * g.height * g.width, w + c * taps, oy, ox);
  }
}

template <typename T>
__global__ void input_grad_kernel(ConvGeometry g, ImageIndex inputs, int64_t planes, const T* dy, const T* w, T* dx) {
  int64_t in_plane = g.height * g.width, taps = g.kernel_h * g.kernel_w;
  DMDLK_GRID_LOOP(e, planes * in_plane) {
    int64_t n, c, iy, ix;
    const int64_t p = inputs.split(e, n, c, iy, ix);
    dx[e] = depthwise_input_grad_at(g, dy + p * g.out_h * g.out_w, w + c * taps, iy, ix);
  }
}

template <typename T>
__global__ void __launch_bounds__(kDepthwiseWeightGradThreads)
    weight_grad_kernel(ConvGeometry g, int64_t images, int64_t channels, const T* x, const T* dy, T* dw) {
  using Block = cub::BlockReduce<T, int(kDepthwiseWeightGradThreads)>;
  __shared__ typename Block::TempStorage scratch;
  // 32-bit divisions: a block per (channel, tap), a tap's row and column.
  const uint32_t taps = uint32_t(g.kernel_h * g.kernel_w), kernel_w = uint32_t(g.kernel_w);
  const int64_t c = blockIdx.x / taps, t = blockIdx.x % taps;
  T sum = 0;
  for (int64_t n = 0; n < images; ++n) {
    int64_t p = n * channels + c;
    sum += depthwise_weight_grad_plane(g, x + p * g.height * g.width, dy + p * g.out_h * g.out_w,
                                       uint32_t(t) / kernel_w, uint32_t(t) % kernel_w, threadIdx.x, blockDim.x);
  }
  sum = Block(scratch).Sum(sum);
  if (threadIdx.x == 0) dw[blockIdx.x] = sum;
}

}  // namespace

template <typename T>
void depthwise_forward(int device, const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w,
                       T* y) {
  launch(device, plan_depthwise_forward(g, planes, sizeof(T)), forward_kernel<T>, g,
         ImageIndex::of(channels, g.out_h, g.out_w), planes, x, w, y);
}

template <typename T>
void depthwise_backward(int device, const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w,
                        const T* dy, T* dx, T* dw) {
  launch(device, plan_depthwise_input_grad(g, planes, sizeof(T)), input_grad_kernel<T>, g,
         ImageIndex::of(channels, g.height, g.width), planes, dy, w, dx);
  launch(device, plan_depthwise_weight_grad(g, planes, channels, sizeof(T)), weight_grad_kernel<T>, g,
         planes / channels, channels, x, dy, dw);
}

#define INSTANTIATE(T)                                                                                    \
  template void depthwise_forward<T>(int, const ConvGeometry&, int64_t, int64_t, const T*, const T*, T*); \
  template void depthwise_backward<T>(int, const ConvGeometry&, int64_t, int64_t, const T*, const T*, const T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
