// BatchNorm2d and LayerNorm, both over a [outer, C, inner] layout:
//   BatchNorm2d: x [N, C, H, W] = [N, C, H·W], statistics per channel over N·H·W.
//   LayerNorm over channels at each pixel: x [N, C, H, W], statistics per (n, pixel) over C.
//   LayerNorm over the last axis: x [..., C] = [rows, C, 1].
// eps 1e-5; BatchNorm momentum 0.1 with the unbiased variance in the running
// estimate, as PyTorch.
#pragma once
#include <math.h>

#include "core/host_device.h"
#include "core/tensor.h"
#include "ops/activation.h"
#include "ops/bias.h"
#include "ops/enum_names.h"

namespace dmdlk {

constexpr double kNormEps = 1e-5;
constexpr double kBatchNormMomentum = 0.1;

struct BatchNormOutput {
  Tensor y;
  Tensor mean, invstd;  // [C]: the batch's statistics (training) or the running ones (evaluation)
};

// Training mode normalizes with the batch's statistics and updates
// running_mean / running_var in place (they are the op's state); evaluation
// mode normalizes with the running statistics. weight and bias are [C].
// y = activation(normalised x): the activation in the same pass.
BatchNormOutput batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                           Tensor& running_var, bool training, Activation activation = Activation::Identity);
struct NormGrads {
  Tensor dx, dweight, dbias;
};
// Where `dx_into` is given (a gradient x already has), dx is added into it in
// place and it is returned as dx (graph.cpp: a value read twice). With an
// activation, its input (x normalised, from weight, bias and the statistics)
// is recomputed element by element.
NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& bias,
                              const Tensor& mean, const Tensor& invstd, bool training, Activation activation,
                              const Tensor& dx_into = Tensor());

enum class LayerNormAxis { Channels, Last };
inline constexpr EnumName<LayerNormAxis> kLayerNormAxisNames[] = {{LayerNormAxis::Channels, "channels"},
                                                                  {LayerNormAxis::Last, "last"}};
struct LayerNormOutput {
  Tensor y, mean, invstd;  // mean and invstd: one per normalized group
};
LayerNormOutput layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, LayerNormAxis axis);
NormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, LayerNormAxis axis, const Tensor& dx_into = Tensor());

// One LayerNorm group (the channels at one (outer, inner) position), forward
// and input gradient: the per-group math both backends run.
template <typename T>
DMDLK_HD void layer_norm_group(const ChannelLayout& l, const T* x, const T* w, const T* b, int64_t g, T* y, T* mean,
                               T* invstd) {
  int64_t off = (g / l.inner) * l.channels * l.inner + g % l.inner;
  double sum = 0, sq = 0;
  for (int64_t c = 0; c < l.channels; ++c) sum += x[off + c * l.inner];
  double m = sum / l.channels;
  for (int64_t c = 0; c < l.channels; ++c) sq += (x[off + c * l.inner] - m) * (x[off + c * l.inner] - m);
  double is = 1.0 / sqrt(sq / l.channels + kNormEps);
  mean[g] = T(m), invstd[g] = T(is);
  for (int64_t c = 0; c < l.channels; ++c) y[off + c * l.inner] = T((x[off + c * l.inner] - m) * is * w[c] + b[c]);
}

template <typename T>
DMDLK_HD void layer_norm_group_backward(const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* mean,
                                        const T* invstd, int64_t g, bool accumulate_dx, T* dx) {
  int64_t off = (g / l.inner) * l.channels * l.inner + g % l.inner;
  double mean_d = 0, mean_dx = 0;
  for (int64_t c = 0; c < l.channels; ++c) {
    int64_t e = off + c * l.inner;
    double d = double(dy[e]) * w[c];
    mean_d += d, mean_dx += d * (x[e] - mean[g]) * invstd[g];
  }
  mean_d /= l.channels, mean_dx /= l.channels;
  for (int64_t c = 0; c < l.channels; ++c) {
    int64_t e = off + c * l.inner;
    double xhat = (x[e] - mean[g]) * invstd[g];
    T grad = T(invstd[g] * (double(dy[e]) * w[c] - mean_d - xhat * mean_dx));
    dx[e] = accumulate_dx ? dx[e] + grad : grad;
  }
}

}  // namespace dmdlk
