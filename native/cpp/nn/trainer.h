// Training a Model with Adam (PyTorch's update; the paper's optimiser): the
// moments of every parameter live beside the model on its device, and each
// step runs forward, backward and one fused update per parameter tensor.
// The seed of fit(): datasets, schedules and checkpoints of training state
// come with the training issue.
#pragma once
#include "nn/model.h"
#include "ops/adam.h"

namespace dmdlk {

class AdamTrainer {
 public:
  AdamTrainer(Model& model, AdamOptions options);
  // One step on a batch; returns the loss before the update.
  double step(const Tensor& images, const Tensor& masks);
  int64_t steps() const { return step_; }
  void set_learning_rate(double lr) { options_.lr = lr; }

 private:
  Model& model_;
  AdamOptions options_;
  std::vector<std::pair<Tensor, Tensor>> moments_;  // per checkpoint tensor (unused for buffers)
  int64_t step_ = 0;
};

}  // namespace dmdlk
