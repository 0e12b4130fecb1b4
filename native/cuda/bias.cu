// Per-channel bias add (one thread per element) and its gradient (a
// per-channel sum in one launch of reduce_kernels.cuh: deterministic).
#include "cuda/reduce_kernels.cuh"
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

template <typename T>
struct LoadDy {
  const T* dy;
  ChannelLayout l;
  __device__ double operator()(int64_t o, int64_t c, int64_t i) const { return dy[(o * l.channels + c) * l.inner + i]; }
};

template <typename T>
struct StoreGrad {
  T* grad;
  __device__ void operator()(int64_t c, double total) const { grad[c] = T(total); }
};

}  // namespace

template <typename T>
void add_bias(int device, const ChannelLayout& l, const T* bias, T* y) {
  if (l.outer * l.channels * l.inner == 0) return;
  launch(device, plan_add_bias(l, sizeof(T)), add_bias_kernel<T>, l, bias, y);
}

template <typename T>
void bias_grad(int device, const ChannelLayout& l, const T* dy, T* grad) {
  channel_reduce<double>(device, "bias_grad", l, sizeof(T), 1, sizeof(T), LoadDy<T>{dy, l}, StoreGrad<T>{grad});
}

#define INSTANTIATE(T)                                                \
  template void add_bias<T>(int, const ChannelLayout&, const T*, T*); \
  template void bias_grad<T>(int, const ChannelLayout&, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
