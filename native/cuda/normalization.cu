// BatchNorm: one block per channel computes the statistics (two passes, in
// double) and, in the backward, the parameter gradients and dx of that
// channel. LayerNorm: one thread per normalized group for x, one block per
// channel for the parameter gradients. No atomics anywhere.
#include "block_reduce.cuh"
#include "cuda/normalization.cuh"
#include "cuda_check.cuh"
#include "ops/backend.h"
#include "ops/normalization.h"

namespace dmdlk::cuda_ops {

namespace {

__device__ int64_t channel_offset(const ChannelLayout& l, int64_t c, int64_t e) {
  return ((e / l.inner) * l.channels + c) * l.inner + e % l.inner;  // e-th element of channel c
}

template <typename T>
__global__ void bn_forward_kernel(ChannelLayout l, const T* x, const T* w, const T* b, T* rm, T* rv, bool training,
                                  T* y, T* mean, T* invstd) {
  const int64_t c = blockIdx.x, count = l.outer * l.inner;
  double m, is;
  if (training) {
    double sum = 0;
    for (int64_t e = threadIdx.x; e < count; e += kNormThreads) sum += x[channel_offset(l, c, e)];
    m = block_sum(sum) / count;
    double sq = 0;
    for (int64_t e = threadIdx.x; e < count; e += kNormThreads) {
      double d = x[channel_offset(l, c, e)] - m;
      sq += d * d;
    }
    sq = block_sum(sq);
    is = 1.0 / sqrt(sq / count + kNormEps);
    if (threadIdx.x == 0) {
      rm[c] = T((1 - kBatchNormMomentum) * rm[c] + kBatchNormMomentum * m);
      rv[c] = T((1 - kBatchNormMomentum) * rv[c] + kBatchNormMomentum * sq / double(count - 1));
    }
  } else {
    m = rm[c];
    is = 1.0 / sqrt(double(rv[c]) + kNormEps);
  }
  if (threadIdx.x == 0) mean[c] = T(m), invstd[c] = T(is);
  T scale = T(is) * w[c], shift = b[c] - T(m) * scale;
  for (int64_t e = threadIdx.x; e < count; e += kNormThreads) {
    int64_t i = channel_offset(l, c, e);
    y[i] = x[i] * scale + shift;
  }
}

template <typename T>
__global__ void bn_backward_kernel(ChannelLayout l, const T* dy, const T* x, const T* w, const T* mean, const T* invstd,
                                   bool training, T* dx, T* dw, T* db) {
  const int64_t c = blockIdx.x, count = l.outer * l.inner;
  double sum_dy = 0, sum_dy_xhat = 0;
  for (int64_t e = threadIdx.x; e < count; e += kNormThreads) {
    int64_t i = channel_offset(l, c, e);
    sum_dy += dy[i];
    sum_dy_xhat += double(dy[i]) * (x[i] - mean[c]) * invstd[c];
  }
  sum_dy = block_sum(sum_dy);
  sum_dy_xhat = block_sum(sum_dy_xhat);
  if (threadIdx.x == 0) dw[c] = T(sum_dy_xhat), db[c] = T(sum_dy);
  double k = double(w[c]) * invstd[c];
  for (int64_t e = threadIdx.x; e < count; e += kNormThreads) {
    int64_t i = channel_offset(l, c, e);
    double g = dy[i];
    if (training) g -= (sum_dy + (x[i] - mean[c]) * invstd[c] * sum_dy_xhat) / count;
    dx[i] = T(k * g);
  }
}

template <typename T>
__global__ void ln_forward_kernel(ChannelLayout l, const T* x, const T* w, const T* b, T* y, T* mean, T* invstd) {
  const int64_t groups = l.outer * l.inner;
  for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < groups; g += int64_t(gridDim.x) * blockDim.x)
    layer_norm_group(l, x, w, b, g, y, mean, invstd);
}

template <typename T>
__global__ void ln_backward_dx_kernel(ChannelLayout l, const T* dy, const T* x, const T* w, const T* mean,
                                      const T* invstd, T* dx) {
  const int64_t groups = l.outer * l.inner;
  for (int64_t g = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; g < groups; g += int64_t(gridDim.x) * blockDim.x)
    layer_norm_group_backward(l, dy, x, w, mean, invstd, g, dx);
}

template <typename T>
__global__ void ln_backward_params_kernel(ChannelLayout l, const T* dy, const T* x, const T* mean, const T* invstd,
                                          T* dw, T* db) {
  const int64_t c = blockIdx.x, groups = l.outer * l.inner;
  double sw = 0, sb = 0;
  for (int64_t g = threadIdx.x; g < groups; g += kNormThreads) {
    int64_t e = channel_offset(l, c, g);
    sw += double(dy[e]) * (x[e] - mean[g]) * invstd[g];
    sb += dy[e];
  }
  sw = block_sum(sw);
  sb = block_sum(sb);
  if (threadIdx.x == 0) dw[c] = T(sw), db[c] = T(sb);
}

}  // namespace

template <typename T>
void batch_norm_forward(int device, const ChannelLayout& l, const T* x, const T* w, const T* b, T* rm, T* rv,
                        bool training, T* y, T* mean, T* invstd) {
  launch(device, plan_batch_norm_forward(l, sizeof(T), training), bn_forward_kernel<T>, l, x, w, b, rm, rv, training, y,
         mean, invstd);
}

template <typename T>
void batch_norm_backward(int device, const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* mean,
                         const T* invstd, bool training, T* dx, T* dw, T* db) {
  launch(device, plan_batch_norm_backward(l, sizeof(T)), bn_backward_kernel<T>, l, dy, x, w, mean, invstd, training, dx,
         dw, db);
}

template <typename T>
void layer_norm_forward(int device, const ChannelLayout& l, const T* x, const T* w, const T* b, T* y, T* mean,
                        T* invstd) {
  launch(device, plan_layer_norm_forward(l, sizeof(T)), ln_forward_kernel<T>, l, x, w, b, y, mean, invstd);
}

template <typename T>
void layer_norm_backward(int device, const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* mean,
                         const T* invstd, T* dx, T* dw, T* db) {
  launch(device, plan_layer_norm_backward_dx(l, sizeof(T)), ln_backward_dx_kernel<T>, l, dy, x, w, mean, invstd, dx);
  launch(device, plan_layer_norm_backward_params(l, sizeof(T)), ln_backward_params_kernel<T>, l, dy, x, mean, invstd,
         dw, db);
}

#define INSTANTIATE(T)                                                                                               \
  template void batch_norm_forward<T>(int, const ChannelLayout&, const T*, const T*, const T*, T*, T*, bool, T*, T*, \
                                      T*);                                                                           \
  template void batch_norm_backward<T>(int, const ChannelLayout&, const T*, const T*, const T*, const T*, const T*,  \
                                       bool, T*, T*, T*);                                                            \
  template void layer_norm_forward<T>(int, const ChannelLayout&, const T*, const T*, const T*, T*, T*, T*);          \
  template void layer_norm_backward<T>(int, const ChannelLayout&, const T*, const T*, const T*, const T*, const T*,  \
                                       T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
