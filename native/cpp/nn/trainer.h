// Training a Model with Adam (PyTorch's update; the paper's optimiser): the
// moments of every parameter live beside the model on its device, and each
// step runs forward, backward and one fused update per parameter tensor.
// Weight decay as Adam's L2 term or AdamW's, and clipping of the gradients'
// global norm, are options. A step whose loss or any gradient is NaN or infinite changes nothing —
// weights, moments and BatchNorm statistics stay as they were — and throws
// ERR_NAN, so training can stop on the last good state.
#pragma once
#include "nn/model.h"
#include "ops/adam.h"

namespace dmdlk {

class AdamTrainer {
 public:
  AdamTrainer(Model& model, AdamOptions options, LossKind loss = LossKind::CrossEntropy);
  // One step on a batch; returns the loss before the update.
  double step(const Tensor& images, const Tensor& masks);
  int64_t steps() const { return step_; }
  void set_learning_rate(double lr) { options_.lr = lr; }
  // Adam's L2 term (decoupled = false) or AdamW's decay of the weights.
  void set_weight_decay(double weight_decay, bool decoupled) {
    options_.weight_decay = weight_decay, options_.decoupled_weight_decay = decoupled;
  }
  // Scales the gradients so that their global norm is at most `max_norm`, as
  // torch.nn.utils.clip_grad_norm_ does; 0 leaves them as they are.
  void set_clip_grad_norm(double max_norm) { clip_grad_norm_ = max_norm; }
  // The global norm of the last step's gradients, before clipping (computed only while clipping).
  double last_grad_norm() const { return last_grad_norm_; }
  void set_loss(LossKind loss) { loss_ = loss; }

  // Adam's state for checkpoints, named as PyTorch's Adam state holds it:
  // "exp_avg.<parameter>" and "exp_avg_sq.<parameter>", float32 copies on the CPU.
  NamedTensors moments() const;
  // Restores moments() and the step count; every name and shape is checked.
  void set_moments(int64_t steps, const NamedTensors& moments);

 private:
  struct Slot {
    size_t state_index;  // the parameter's place in model.state()
    Tensor m, v;
  };
  Model& model_;
  AdamOptions options_;
  LossKind loss_;
  std::vector<Slot> slots_;             // one per parameter, in checkpoint order
  std::vector<size_t> buffer_indices_;  // BatchNorm statistics' places in model.state()
  int64_t step_ = 0;
  double clip_grad_norm_ = 0, last_grad_norm_ = 0;
};

}  // namespace dmdlk
