// BatchNorm: the channels' statistics and parameter gradients in one launch of
// gpu/reduce.h's reductions (deterministic), the normalisation and dx element-wise
// over planes. LayerNorm: a warp per normalized group.
#include <cmath>

#include "cuda/floats.cuh"
#include "cuda/reduce_kernels.cuh"
#include "cuda_check.cuh"
#include "gpu/normalization.h"
#include "ops/activation.h"
#include "ops/backend.h"
#include "ops/normalization.h"

namespace dmdlk::cuda_ops {

namespace {

// ---- element-wise over [outer, C, inner] -----------------------------------------

// f(index, channel) for every element: planes from a 2-D grid where
// channel_planes_grid says so (plan_channel_elementwise; a plane's channel in
// 32 bits, blockIdx.y < 65536), else a flat one (by the layout's divisors).
template <class F>
__device__ void for_channel_elements(const ChannelDivisors& cd, bool planes, F f) {
  const ChannelLayout& l = cd.l;
  if (planes) {
    const int64_t plane = blockIdx.y, c = blockIdx.y % uint32_t(l.channels);
    const int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
    if (i < l.inner) f(plane * l.inner + i, c);
    return;
  }
  const int64_t n = l.outer * l.channels * l.inner;
  DMDLK_GRID_LOOP(e, n) f(e, cd.channel(e));
}

// A BatchNorm's normalised value z = (x − mean)·invstd·w + b: the
// activation's input, which the backward recomputes exactly as the forward
// computed it.
template <typename T>
__device__ T normalised(T x, T mean, T invstd, T w, T b) {
  return (x - mean) * (invstd * w) + b;
}
// dy, at the activation's output, taken back to z.
template <typename T>
__device__ T through_activation(Activation a, T dy, T x, T mean, T invstd, T w, T b) {
  return a == Activation::Identity ? dy : dy * activate_grad(a, normalised(x, mean, invstd, w, b));
}

template <typename T>
__global__ void bn_apply_kernel(ChannelDivisors cd, bool planes, Activation a, const T* x, const T* w, const T* b,
                                const T* mean, const T* invstd, T* y) {
  for_channel_elements(cd, planes, [&](int64_t e, int64_t c) {
    const T z = normalised(x[e], mean[c], invstd[c], w[c], b[c]);
    y[e] = a == Activation::Identity ? z : activate(a, z);
  });
}

template <typename T>
__global__ void bn_input_grad_kernel(ChannelDivisors cd, bool planes, bool training, Activation a, bool accumulate,
                                     const T* dy, const T* x, const T* w, const T* b, const T* mean, const T* invstd,
                                     const T* dw, const T* db, T* dx) {
  const double count = double(cd.l.outer) * cd.l.inner;
  for_channel_elements(cd, planes, [&](int64_t e, int64_t c) {
    double g = through_activation(a, dy[e], x[e], mean[c], invstd[c], w[c], b[c]);
    if (training) g -= (double(db[c]) + (double(x[e]) - mean[c]) * invstd[c] * double(dw[c])) / count;
    const T grad = T(double(w[c]) * invstd[c] * g);
    dx[e] = accumulate ? dx[e] + grad : grad;  // added into the gradient x already has (as the graph would add)
  });
}

template <typename T>
__global__ void bn_running_stats_kernel(int64_t channels, const T* rm, const T* rv, T* mean, T* invstd) {
  DMDLK_GRID_LOOP(c, channels) mean[c] = rm[c], invstd[c] = T(1.0 / sqrt(double(rv[c]) + kNormEps));
}

// ---- the reductions' loaders and finishers ---------------------------------------------
// (element types at run time: one reduction kernel serves float and double)

struct LoadMoments {
  FloatsIn x;
  ChannelLayout l;
  __device__ Moments operator()(int64_t o, int64_t c, int64_t i) const {
    return Moments::of(x[(o * l.channels + c) * l.inner + i]);
  }
};

// mean and 1/σ of the batch; the running statistics updated as PyTorch does
// (the unbiased variance, momentum kBatchNormMomentum).
struct FinishMoments {
  FloatsOut mean, invstd, rm, rv;
  __device__ void operator()(int64_t c, const Moments& m) const {
    double var = m.count > 0 ? m.m2 / m.count : 0;
    mean.set(c, m.mean), invstd.set(c, 1.0 / sqrt(var + kNormEps));
    rm.set(c, (1 - kBatchNormMomentum) * rm[c] + kBatchNormMomentum * m.mean);
    rv.set(c, (1 - kBatchNormMomentum) * rv[c] + kBatchNormMomentum * (m.count > 1 ? m.m2 / (m.count - 1) : 0));
  }
};

// (Σdy, Σdy·x̂) of a BatchNorm's channel, dy taken back through its
// activation in the element type (as bn_input_grad_kernel takes it).
struct LoadBatchNormGradSums {
  FloatsIn dy, x, w, b, mean, invstd;
  Activation activation;
  ChannelLayout l;
  __device__ SumPair operator()(int64_t o, int64_t c, int64_t i) const {
    int64_t e = (o * l.channels + c) * l.inner + i;
    double g = x.f64 ? through_activation<double>(activation, dy[e], x[e], mean[c], invstd[c], w[c], b[c])
                     : through_activation<float>(activation, float(dy[e]), float(x[e]), float(mean[c]),
                                                 float(invstd[c]), float(w[c]), float(b[c]));
    return {g, g * (x[e] - mean[c]) * invstd[c]};
  }
};

// (Σdy, Σdy·x̂) of a LayerNorm's channel, x̂ from each group's statistics
// (group = o·inner + i).
struct LoadLayerNormGradSums {
  FloatsIn dy, x, mean, invstd;
  ChannelLayout l;
  __device__ SumPair operator()(int64_t o, int64_t c, int64_t i) const {
    int64_t e = (o * l.channels + c) * l.inner + i, s = o * l.inner + i;
    double g = dy[e];
    return {g, g * (x[e] - mean[s]) * invstd[s]};
  }
};

struct FinishParamGrads {
  FloatsOut dw, db;
  __device__ void operator()(int64_t c, const SumPair& s) const { db.set(c, s.a), dw.set(c, s.b); }
};

// ---- LayerNorm: a warp per group ------------------------------------------------------

__device__ double warp_sum(double v) {
  for (int offset = 16; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

template <typename T>
__global__ void ln_forward_kernel(ChannelDivisors cd, const T* x, const T* w, const T* b, T* y, T* mean, T* invstd) {
  const ChannelLayout& l = cd.l;
  for_warp_rows(l.outer * l.inner, [&](int64_t g, int lane) {
    const int64_t off = cd.group_start(g);
    double sum = 0;
    for (int64_t c = lane; c < l.channels; c += 32) sum += x[off + c * l.inner];
    const double m = warp_sum(sum) / l.channels;
    double sq = 0;
    for (int64_t c = lane; c < l.channels; c += 32) {
      double d = x[off + c * l.inner] - m;
      sq += d * d;
    }
    const double is = 1.0 / sqrt(warp_sum(sq) / l.channels + kNormEps);
    if (lane == 0) mean[g] = T(m), invstd[g] = T(is);
    for (int64_t c = lane; c < l.channels; c += 32)
      y[off + c * l.inner] = T((x[off + c * l.inner] - m) * is * w[c] + b[c]);
  });
}

template <typename T>
__global__ void ln_backward_dx_kernel(ChannelDivisors cd, const T* dy, const T* x, const T* w, const T* mean,
                                      const T* invstd, bool accumulate, T* dx) {
  const ChannelLayout& l = cd.l;
  for_warp_rows(l.outer * l.inner, [&](int64_t g, int lane) {
    const int64_t off = cd.group_start(g);
    const double m = mean[g], is = invstd[g];
    double sum_d = 0, sum_dx = 0;
    for (int64_t c = lane; c < l.channels; c += 32) {
      int64_t e = off + c * l.inner;
      double d = double(dy[e]) * w[c];
      sum_d += d, sum_dx += d * (x[e] - m) * is;
    }
    const double mean_d = warp_sum(sum_d) / l.channels, mean_dx = warp_sum(sum_dx) / l.channels;
    for (int64_t c = lane; c < l.channels; c += 32) {
      int64_t e = off + c * l.inner;
      double xhat = (x[e] - m) * is;
      const T grad = T(is * (double(dy[e]) * w[c] - mean_d - xhat * mean_dx));
      dx[e] = accumulate ? dx[e] + grad : grad;
    }
  });
}

}  // namespace

template <typename T>
void batch_norm_forward(int device, const ChannelLayout& l, const T* x, const T* w, const T* b, T* rm, T* rv,
                        bool training, Activation activation, T* y, T* mean, T* invstd) {
  std::vector<LaunchPlan> plans = plan_batch_norm_forward(l, sizeof(T), training, activation);
  if (training)
    channel_reduce<Moments>(
        device, "batch_norm_stats", l, sizeof(T), 1, 4 * sizeof(T), LoadMoments{FloatsIn::of(x), l},
        FinishMoments{FloatsOut::of(mean), FloatsOut::of(invstd), FloatsOut::of(rm), FloatsOut::of(rv)});
  else
    launch(device, plans[0], bn_running_stats_kernel<T>, l.channels, static_cast<const T*>(rm),
           static_cast<const T*>(rv), mean, invstd);
  if (l.outer * l.inner == 0) return;
  launch(device, plans.back(), bn_apply_kernel<T>, ChannelDivisors::of(l), channel_planes_grid(l), activation, x, w, b,
         static_cast<const T*>(mean), static_cast<const T*>(invstd), y);
}

template <typename T>
void batch_norm_backward(int device, const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* b,
                         const T* mean, const T* invstd, bool training, Activation activation, bool accumulate_dx,
                         T* dx, T* dw, T* db) {
  std::vector<LaunchPlan> plans = plan_batch_norm_backward(l, sizeof(T), activation);
  channel_reduce<SumPair>(device, "batch_norm_grad_sums", l, sizeof(T), 2, 2 * sizeof(T),
                          LoadBatchNormGradSums{FloatsIn::of(dy), FloatsIn::of(x), FloatsIn::of(w), FloatsIn::of(b),
                                                FloatsIn::of(mean), FloatsIn::of(invstd), activation, l},
                          FinishParamGrads{FloatsOut::of(dw), FloatsOut::of(db)});
  if (l.outer * l.inner == 0) return;
  launch(device, plans.back(), bn_input_grad_kernel<T>, ChannelDivisors::of(l), channel_planes_grid(l), training,
         activation, accumulate_dx, dy, x, w, b, mean, invstd, static_cast<const T*>(dw), static_cast<const T*>(db),
         dx);
}

template <typename T>
void layer_norm_forward(int device, const ChannelLayout& l, const T* x, const T* w, const T* b, T* y, T* mean,
                        T* invstd) {
  if (l.outer * l.inner == 0) return;
  launch(device, plan_layer_norm_forward(l, sizeof(T)), ln_forward_kernel<T>, ChannelDivisors::of(l), x, w, b, y, mean,
         invstd);
}

template <typename T>
void layer_norm_backward(int device, const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* mean,
                         const T* invstd, bool accumulate_dx, T* dx, T* dw, T* db) {
  if (l.outer * l.inner > 0)
    launch(device, plan_layer_norm_backward_dx(l, sizeof(T)), ln_backward_dx_kernel<T>, ChannelDivisors::of(l), dy, x,
           w, mean, invstd, accumulate_dx, dx);
  channel_reduce<SumPair>(
      device, "layer_norm_param_sums", l, sizeof(T), 2, 2 * sizeof(T),
      LoadLayerNormGradSums{FloatsIn::of(dy), FloatsIn::of(x), FloatsIn::of(mean), FloatsIn::of(invstd), l},
      FinishParamGrads{FloatsOut::of(dw), FloatsOut::of(db)});
}

#define INSTANTIATE(T)                                                                                              \
  template void batch_norm_forward<T>(int, const ChannelLayout&, const T*, const T*, const T*, T*, T*, bool,        \
                                      Activation, T*, T*, T*);                                                      \
  template void batch_norm_backward<T>(int, const ChannelLayout&, const T*, const T*, const T*, const T*, const T*, \
                                       const T*, bool, Activation, bool, T*, T*, T*);                               \
  template void layer_norm_forward<T>(int, const ChannelLayout&, const T*, const T*, const T*, T*, T*, T*);         \
  template void layer_norm_backward<T>(int, const ChannelLayout&, const T*, const T*, const T*, const T*, const T*, \
                                       bool, T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
