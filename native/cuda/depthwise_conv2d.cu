// Depthwise convolution: one thread per output (forward) or input (dx, a
// gather) element; dw one block per (channel, tap) reducing over the batch.
#include <cub/block/block_reduce.cuh>

#include "cuda_check.cuh"
#include "gpu/conv2d.h"
#include "ops/backend.h"
#include "ops/depthwise_conv2d.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void forward_kernel(ConvGeometry g, int64_t planes, int64_t channels, const T* x, const T* w, T* y) {
  int64_t out_plane = g.out_h * g.out_w, taps = g.kernel_h * g.kernel_w;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < planes * out_plane;
       e += int64_t(gridDim.x) * blockDim.x) {
    int64_t p = e / out_plane, o = e % out_plane;
    y[e] = depthwise_at(g, x + p * g.height * g.width, w + (p % channels) * taps, o / g.out_w, o % g.out_w);
  }
}

template <typename T>
__global__ void input_grad_kernel(ConvGeometry g, int64_t planes, int64_t channels, const T* dy, const T* w, T* dx) {
  int64_t in_plane = g.height * g.width, taps = g.kernel_h * g.kernel_w;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < planes * in_plane;
       e += int64_t(gridDim.x) * blockDim.x) {
    int64_t p = e / in_plane, i = e % in_plane;
    dx[e] = depthwise_input_grad_at(g, dy + p * g.out_h * g.out_w, w + (p % channels) * taps, i / g.width, i % g.width);
  }
}

template <typename T>
__global__ void __launch_bounds__(kDepthwiseWeightGradThreads)
    weight_grad_kernel(ConvGeometry g, int64_t planes, int64_t channels, const T* x, const T* dy, T* dw) {
  using Block = cub::BlockReduce<T, int(kDepthwiseWeightGradThreads)>;
  __shared__ typename Block::TempStorage scratch;
  int64_t taps = g.kernel_h * g.kernel_w, c = blockIdx.x / taps, t = blockIdx.x % taps;
  T sum = 0;
  for (int64_t n = 0; n < planes / channels; ++n) {
    int64_t p = n * channels + c;
    sum += depthwise_weight_grad_plane(g, x + p * g.height * g.width, dy + p * g.out_h * g.out_w, t / g.kernel_w,
                                       t % g.kernel_w, threadIdx.x, blockDim.x);
  }
  sum = Block(scratch).Sum(sum);
  if (threadIdx.x == 0) dw[blockIdx.x] = sum;
}

}  // namespace

template <typename T>
void depthwise_forward(int device, const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w,
                       T* y) {
  launch(device, plan_depthwise_forward(g, planes, sizeof(T)), forward_kernel<T>, g, planes, channels, x, w, y);
}

template <typename T>
void depthwise_backward(int device, const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w,
                        const T* dy, T* dx, T* dw) {
  launch(device, plan_depthwise_input_grad(g, planes, sizeof(T)), input_grad_kernel<T>, g, planes, channels, dy, w, dx);
  launch(device, plan_depthwise_weight_grad(g, planes, channels, sizeof(T)), weight_grad_kernel<T>, g, planes, channels,
         x, dy, dw);
}

#define INSTANTIATE(T)                                                                                    \
  template void depthwise_forward<T>(int, const ConvGeometry&, int64_t, int64_t, const T*, const T*, T*); \
  template void depthwise_backward<T>(int, const ConvGeometry&, int64_t, int64_t, const T*, const T*, const T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
