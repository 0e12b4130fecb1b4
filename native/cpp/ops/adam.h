// One Adam or AdamW step (PyTorch's torch.optim.Adam / AdamW, no amsgrad)
// over flat buffers of parameters, gradients and moments, updated in place: a
// fused element-wise kernel, for one parameter tensor (adam_step) or for all
// of a model's at once (adam_step_all: on CUDA a launch per 128 tensors, not
// one per tensor, ops/tensor_list.h).
//   g ← grad_scale · g   (the clip of the gradients' global norm)
//   Adam: g += weight_decay · p;   AdamW: p ← (1 − lr · weight_decay) p
//   m ← β1 m + (1 − β1) g,  v ← β2 v + (1 − β2) g²
//   p ← p − lr / (1 − β1^t) · m / (√v / √(1 − β2^t) + eps)
#pragma once
#include <math.h>

#include <vector>

#include "core/host_device.h"
#include "core/tensor.h"

namespace dmdlk {

struct AdamOptions {
  double lr = 1e-4, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled_weight_decay = false;  // AdamW's decay of the weights instead of Adam's L2 term
  double grad_scale = 1;                // multiplies every gradient first
  int64_t step = 1;                     // the step being taken, from 1
};

// params, m and v are updated in place; all four tensors share shape, dtype and device.
void adam_step(Tensor& params, const Tensor& grads, Tensor& m, Tensor& v, const AdamOptions& options);

// The tensors of one parameter: handles sharing the model's and the
// optimizer's storage, so the step updates them in place.
struct AdamSlot {
  Tensor params, grads, m, v;
};
// adam_step on every slot, alike to the bit; all slots on one device, of one dtype.
void adam_step_all(const std::vector<AdamSlot>& slots, const AdamOptions& options);

// Adds the number of NaN and infinite elements of `t` to counter (int32 [1] on
// t's device): the guard that keeps a bad gradient out of the weights, checked
// over every gradient with a single host sync.
void count_nonfinite(const Tensor& t, Tensor& counter);
// The same over many tensors (of one device and dtype), in a launch per 128 on CUDA.
void count_nonfinite_all(const std::vector<Tensor>& tensors, Tensor& counter);

DMDLK_HD float sqrt_of(float x) { return sqrtf(x); }
DMDLK_HD double sqrt_of(double x) { return sqrt(x); }

template <typename T>
DMDLK_HD void adam_update(T& p, T g, T& m, T& v, double lr_corrected, double sqrt_bc2, const AdamOptions& o) {
  g *= T(o.grad_scale);
  if (o.decoupled_weight_decay) p *= T(1 - o.lr * o.weight_decay);
  else g += T(o.weight_decay) * p;
  m = T(o.beta1) * m + T(1 - o.beta1) * g;
  v = T(o.beta2) * v + T(1 - o.beta2) * g * g;
  p -= T(lr_corrected) * m / (sqrt_of(v) / T(sqrt_bc2) + T(o.eps));
}

}  // namespace dmdlk
