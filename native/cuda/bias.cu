// Per-channel bias add (one thread per element) and its gradient (one block
// per channel, a shared-memory tree reduction: deterministic, no atomics).
#include "cuda/bias.cuh"
#include "cuda_check.cuh"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void add_bias_kernel(ChannelLayout l, const T* bias, T* y) {
  int64_t n = l.outer * l.channels * l.inner;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] += bias[(i / l.inner) % l.channels];
}

template <typename T>
__global__ void bias_grad_kernel(ChannelLayout l, const T* dy, T* grad) {
  __shared__ T partial[kBiasGradThreads];
  const int64_t c = blockIdx.x, per_channel = l.outer * l.inner;
  T sum = 0;
  for (int64_t e = threadIdx.x; e < per_channel; e += kBiasGradThreads) {
    int64_t o = e / l.inner, i = e % l.inner;
    sum += dy[(o * l.channels + c) * l.inner + i];
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int width = kBiasGradThreads / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) grad[c] = partial[0];
}

}  // namespace

template <typename T>
void add_bias(int device, const ChannelLayout& l, const T* bias, T* y) {
  if (l.outer * l.channels * l.inner == 0) return;
  launch(device, plan_add_bias(l, sizeof(T)), add_bias_kernel<T>, l, bias, y);
}

template <typename T>
void bias_grad(int device, const ChannelLayout& l, const T* dy, T* grad) {
  if (l.channels == 0) return;
  launch(device, plan_bias_grad(l, sizeof(T)), bias_grad_kernel<T>, l, dy, grad);
}

#define INSTANTIATE(T)                                                \
  template void add_bias<T>(int, const ChannelLayout&, const T*, T*); \
  template void bias_grad<T>(int, const ChannelLayout&, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
