// Per-channel bias add (one thread per element) and its gradient (a
// per-channel sum in one launch: channel_sum.cu, deterministic).
#include "cuda_check.cuh"
#include "gpu/bias.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void add_bias_kernel(ChannelDivisors cd, const T* bias, T* y) {
  int64_t n = cd.l.outer * cd.l.channels * cd.l.inner;
  DMDLK_GRID_LOOP(i, n) y[i] += bias[cd.channel(i)];
}

}  // namespace

template <typename T>
void add_bias(int device, const ChannelLayout& l, const T* bias, T* y) {
  if (l.outer * l.channels * l.inner == 0) return;
  launch(device, plan_add_bias(l, sizeof(T)), add_bias_kernel<T>, ChannelDivisors::of(l), bias, y);
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
