// Per-channel bias add (one thread per element) and its gradient (one block
// per channel, a shared-memory tree reduction: deterministic, no atomics).
#include "cuda_check.cuh"
#include "ops/bias.h"

namespace dmdlk::cuda_ops {

namespace {

constexpr int kReduceThreads = 256;

template <typename T>
__global__ void add_bias_kernel(ChannelLayout l, const T* bias, T* y) {
  int64_t n = l.outer * l.channels * l.inner;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] += bias[(i / l.inner) % l.channels];
}

template <typename T>
__global__ void bias_grad_kernel(ChannelLayout l, const T* dy, T* grad) {
  __shared__ T partial[kReduceThreads];
  const int64_t c = blockIdx.x, per_channel = l.outer * l.inner;
  T sum = 0;
  for (int64_t e = threadIdx.x; e < per_channel; e += kReduceThreads) {
    int64_t o = e / l.inner, i = e % l.inner;
    sum += dy[(o * l.channels + c) * l.inner + i];
  }
  partial[threadIdx.x] = sum;
  __syncthreads();
  for (int width = kReduceThreads / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) partial[threadIdx.x] += partial[threadIdx.x + width];
    __syncthreads();
  }
  if (threadIdx.x == 0) grad[c] = partial[0];
}

}  // namespace

template <typename T>
void add_bias(int device, const ChannelLayout& l, const T* bias, T* y) {
  int64_t n = l.outer * l.channels * l.inner;
  if (n == 0) return;
  DeviceGuard guard(device);
  add_bias_kernel<T><<<blocks_for(n), 256, 0, stream(device)>>>(l, bias, y);
  check_launch(device, "add_bias");
}

template <typename T>
void bias_grad(int device, const ChannelLayout& l, const T* dy, T* grad) {
  if (l.channels == 0) return;
  DeviceGuard guard(device);
  bias_grad_kernel<T><<<unsigned(l.channels), kReduceThreads, 0, stream(device)>>>(l, dy, grad);
  check_launch(device, "bias_grad");
}

template void add_bias<float>(int, const ChannelLayout&, const float*, float*);
template void add_bias<double>(int, const ChannelLayout&, const double*, double*);
template void bias_grad<float>(int, const ChannelLayout&, const float*, float*);
template void bias_grad<double>(int, const ChannelLayout&, const double*, double*);

}  // namespace dmdlk::cuda_ops
