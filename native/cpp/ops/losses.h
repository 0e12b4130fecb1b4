// Segmentation losses over logits [B, K, H, W] (any trailing spatial axes)
// and class-index targets int32 [B, H, W], each returning a scalar tensor []
// on the logits' device (no host sync), and their gradients given dloss [].
//
//   cross_entropy: mean over all B·H·W pixels of −log softmax(logits)[target].
//   dice_loss:     1 − mean over the foreground classes c ≥ 1 of
//                  (2 Σ p_c t_c + 1) / (Σ p_c + Σ t_c + 1), p = softmax(logits),
//                  t_c = [target == c], sums over every pixel of the batch
//                  (soft Dice with smoothing 1; for two classes, the lesion's).
//
// Targets outside [0, K) are an ERR_INVALID_ARG on the CPU; on CUDA, where
// checking would cost a host sync, they make the loss NaN, which training
// reports as ERR_NAN.
#pragma once
#include <math.h>

#include "core/host_device.h"
#include "core/index_divisor.h"
#include "core/tensor.h"

namespace dmdlk {

constexpr int kMaxDiceClasses = 16;

Tensor cross_entropy(const Tensor& logits, const Tensor& targets);
Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& dloss);
Tensor dice_loss(const Tensor& logits, const Tensor& targets);
Tensor dice_loss_backward(const Tensor& logits, const Tensor& targets, const Tensor& dloss);

struct LossLayout {
  int64_t batch = 0, classes = 0;
  IndexDivisor plane;  // pixels per image, a divisor (core/index_divisor.h): at() splits a pixel by it
  DMDLK_HD int64_t pixels() const { return batch * plane.d; }
  DMDLK_HD int64_t at(int64_t pixel, int64_t k) const {
    int64_t p;
    const int64_t image = plane.divide(pixel, p);
    return (image * classes + k) * plane.d + p;
  }
};

DMDLK_HD float log_of(float x) { return logf(x); }
DMDLK_HD double log_of(double x) { return log(x); }
DMDLK_HD float exp_value(float x) { return expf(x); }
DMDLK_HD double exp_value(double x) { return exp(x); }

// Max logit and Σ exp(logit − max) at one pixel.
template <typename T>
DMDLK_HD void pixel_softmax_terms(const LossLayout& l, const T* logits, int64_t pixel, T* max, T* sum) {
  T m = logits[l.at(pixel, 0)];
  for (int64_t k = 1; k < l.classes; ++k) m = logits[l.at(pixel, k)] > m ? logits[l.at(pixel, k)] : m;
  T s = 0;
  for (int64_t k = 0; k < l.classes; ++k) s += exp_value(logits[l.at(pixel, k)] - m);
  *max = m, *sum = s;
}

// −log softmax(logits)[target] at one pixel; NaN for a target out of range.
template <typename T>
DMDLK_HD T pixel_nll(const LossLayout& l, const T* logits, const int32_t* targets, int64_t pixel) {
  int32_t t = targets[pixel];
  if (t < 0 || t >= l.classes) return T(NAN);
  T m, s;
  pixel_softmax_terms(l, logits, pixel, &m, &s);
  return log_of(s) + m - logits[l.at(pixel, t)];
}

// Dice gradient of one pixel given the class sums I_c = Σ p_c t_c and
// S_c = Σ p_c + Σ t_c + 1: writes dlogits for every class.
template <typename T>
DMDLK_HD void dice_pixel_grad(const LossLayout& l, const T* logits, const int32_t* targets, const double* inter,
                              const double* total, double scale, int64_t pixel, T* dlogits) {
  T m, s;
  pixel_softmax_terms(l, logits, pixel, &m, &s);
  double p[kMaxDiceClasses], g[kMaxDiceClasses], dot = 0;
  for (int64_t k = 0; k < l.classes; ++k) {
    p[k] = double(exp_value(logits[l.at(pixel, k)] - m) / s);
    double t = targets[pixel] == k ? 1.0 : 0.0;
    g[k] = k == 0 ? 0.0 : -scale * (2 * t * total[k] - (2 * inter[k] + 1)) / (total[k] * total[k]);
    dot += g[k] * p[k];
  }
  for (int64_t k = 0; k < l.classes; ++k) dlogits[l.at(pixel, k)] = T(p[k] * (g[k] - dot));
}

}  // namespace dmdlk
