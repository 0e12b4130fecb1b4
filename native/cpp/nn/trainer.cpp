#include "nn/trainer.h"

namespace dmdlk {

AdamTrainer::AdamTrainer(Model& model, AdamOptions options) : model_(model), options_(options) {
  for (const auto& [name, t] : model.state())
    moments_.emplace_back(Tensor::zeros(t.shape(), t.dtype(), t.device()), Tensor::zeros(t.shape(), t.dtype(), t.device()));
}

double AdamTrainer::step(const Tensor& images, const Tensor& masks) {
  Model::LossAndGradients out = model_.loss_and_gradients(images, masks);
  AdamOptions o = options_;
  o.step = ++step_;
  // Gradients come in checkpoint order, parameters only: walk both lists together.
  const NamedTensors& state = model_.state();
  size_t g = 0;
  for (size_t i = 0; i < state.size() && g < out.gradients.size(); ++i) {
    if (out.gradients[g].first != state[i].first) continue;  // a BatchNorm buffer
    Tensor parameter = state[i].second;                     // shares the model's storage: updated in place
    adam_step(parameter, out.gradients[g].second, moments_[i].first, moments_[i].second, o);
    ++g;
  }
  return out.loss.to(Device::cpu()).to_vector<float>()[0];
}

}  // namespace dmdlk
