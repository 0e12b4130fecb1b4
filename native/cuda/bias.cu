// Per-channel bias add (one thread per element) and its gradient (a
// per-channel sum in one launch: channel_sum.cu, deterministic).
#include "cuda_check.cuh"
#include "gpu/bias.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void add_bias_kernel(ChannelLayout l, const T* bias, T* y) {
  int64_t n = l.outer * l.channels * l.inner;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] += bias[(i / l.inner) % l.channels];
}

}  // namespace

template <typename T>
void add_bias(int device, const ChannelLayout& l, const T* bias, T* y) {
  if (l.outer * l.channels * l.inner == 0) return;
  launch(device, plan_add_bias(l, sizeof(T)), add_bias_kernel<T>, l, bias, y);
}

template <typename T>
void bias_grad(int device, const ChannelLayout& l, const T* dy, T* grad) {
  channel_sum<T>(device, "bias_grad", l, dy, nullptr, nullptr, 1.0, grad);
}

#define INSTANTIATE(T)                                                \
  template void add_bias<T>(int, const ChannelLayout&, const T*, T*); \
  template void bias_grad<T>(int, const ChannelLayout&, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
