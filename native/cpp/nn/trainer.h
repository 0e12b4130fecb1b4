// Training a Model with Adam (PyTorch's update; the paper's optimiser): the
// moments of every parameter live beside the model on its device, and each
// step runs forward, backward and one fused update per parameter tensor.
// A step whose loss or any gradient is NaN or infinite changes nothing —
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
};

}  // namespace dmdlk
