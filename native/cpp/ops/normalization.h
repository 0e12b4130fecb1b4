// BatchNorm2d and LayerNorm, both over a [outer, C, inner] layout:
//   BatchNorm2d: x [N, C, H, W] = [N, C, H·W], statistics per channel over N·H·W.
//   LayerNorm over channels at each pixel: x [N, C, H, W], statistics per (n, pixel) over C.
//   LayerNorm over the last axis: x [..., C] = [rows, C, 1].
// eps 1e-5; BatchNorm momentum 0.1 with the unbiased variance in the running
// estimate, as PyTorch.
#pragma once
#include "core/tensor.h"
#include "ops/bias.h"

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
BatchNormOutput batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                           Tensor& running_var, bool training);
struct NormGrads {
  Tensor dx, dweight, dbias;
};
NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, bool training);

enum class LayerNormAxis { Channels, Last };
struct LayerNormOutput {
  Tensor y, mean, invstd;  // mean and invstd: one per normalized group
};
LayerNormOutput layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, LayerNormAxis axis);
NormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, LayerNormAxis axis);

// Each backend implements the whole of each op behind the same signature
// (CUDA's with the device first); the public entries above check and dispatch.
#define DMDLK_NORM_KERNELS(...)                                                                            \
  template <typename T>                                                                                    \
  void batch_norm_forward(__VA_ARGS__ const ChannelLayout& l, const T* x, const T* w, const T* b,          \
                          T* running_mean, T* running_var, bool training, T* y, T* mean, T* invstd);       \
  template <typename T>                                                                                    \
  void batch_norm_backward(__VA_ARGS__ const ChannelLayout& l, const T* dy, const T* x, const T* w,        \
                           const T* mean, const T* invstd, bool training, T* dx, T* dw, T* db);            \
  template <typename T>                                                                                    \
  void layer_norm_forward(__VA_ARGS__ const ChannelLayout& l, const T* x, const T* w, const T* b, T* y,    \
                          T* mean, T* invstd);                                                              \
  template <typename T>                                                                                    \
  void layer_norm_backward(__VA_ARGS__ const ChannelLayout& l, const T* dy, const T* x, const T* w,        \
                           const T* mean, const T* invstd, T* dx, T* dw, T* db);
namespace cpu_ops {
DMDLK_NORM_KERNELS()
}
namespace cuda_ops {
DMDLK_NORM_KERNELS(int device,)
}
#undef DMDLK_NORM_KERNELS

}  // namespace dmdlk
