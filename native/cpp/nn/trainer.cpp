#include "nn/trainer.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <map>

#include "nn/parameters.h"
#include "ops/binary.h"
#include "ops/layout.h"
#include "ops/matmul.h"

namespace dmdlk {

namespace {

// Σ g² over every gradient, summed on their device (each as a 1 × n by n × 1
// product, which splits n deterministically), read back once.
double sum_of_squares(const std::vector<Tensor>& gradients) {
  Tensor total;
  for (const Tensor& g : gradients) {
    Tensor square = matmul(g.reshape({1, g.numel()}), g.reshape({g.numel(), 1}));
    total = total.defined() ? add(total, square) : square;
  }
  Tensor host = total.to(Device::cpu());
  return host.dtype() == DType::F64 ? host.to_vector<double>()[0] : double(host.to_vector<float>()[0]);
}

}  // namespace

AdamTrainer::AdamTrainer(Model& model, AdamOptions options, LossKind loss)
    : model_(model), options_(options), loss_(loss) {
  std::vector<TensorSpec> layout = checkpoint_layout(model.config());
  const NamedTensors& state = model.state();
  for (size_t i = 0; i < layout.size(); ++i) {
    if (layout[i].kind == TensorKind::Buffer) buffer_indices_.push_back(i);
    if (layout[i].kind != TensorKind::Parameter) continue;
    const Tensor& t = state[i].second;
    slots_.push_back(
        {i, Tensor::zeros(t.shape(), t.dtype(), t.device()), Tensor::zeros(t.shape(), t.dtype(), t.device())});
  }
}

double AdamTrainer::step(const Tensor& images, const Tensor& masks) {
  model_.check_batch(images, masks, "lossAndGradients");
  StepGraphs::Result step;  // first: the step's memory scope, when left open, closes last
  // The step's work — forward, backward, the finiteness check — runs as one
  // step of the model (a CUDA graph once it can be: nn/step_graph.h); the
  // loss's read-back and the update follow it, outside it, as do Adam's step
  // count and any clipping, which change every step. Its outputs: the loss,
  // the count of non-finite values, copies of BatchNorm's running statistics
  // from before the forward pass changed them (to put back if this step
  // turns out non-finite), and the gradients in checkpoint order.
  const size_t kept_count = buffer_indices_.size();
  std::vector<Tensor> kept;  // set once the work has run (not while it is captured)
  auto work = [&](const std::vector<Tensor>& in) {
    std::vector<Tensor> statistics;
    for (size_t i : buffer_indices_) statistics.push_back(model_.state()[i].second);
    std::vector<Tensor> copies = clone_all(statistics);
    if (!StepGraphs::capturing()) kept = copies;
    Model::LossAndGradients out = model_.loss_and_gradients_unchecked(in[0], in[1], loss_);
    std::vector<Tensor> checked{out.loss};
    for (const auto& [name, g] : out.gradients) checked.push_back(g);
    Tensor nonfinite = Tensor::zeros({1}, DType::I32, model_.device());
    count_nonfinite_all(checked, nonfinite);
    std::vector<Tensor> outputs{out.loss, nonfinite};
    outputs.insert(outputs.end(), copies.begin(), copies.end());
    outputs.insert(outputs.end(), checked.begin() + 1, checked.end());
    return outputs;
  };
  auto restore_statistics = [&] {
    NamedTensors statistics_before;
    for (size_t k = 0; k < kept.size(); ++k)
      statistics_before.emplace_back(model_.state()[buffer_indices_[k]].first, kept[k]);
    model_.set_state(statistics_before);
  };
  try {
    step = model_.run_step(images.dim(0), NetworkMode::Train, loss_, {images, masks}, work);
  } catch (...) {
    // A failure mid-step (a GPU out of memory, a bad target) leaves the
    // statistics as they were, so the model can go on at a smaller batch.
    if (!kept.empty()) restore_statistics();
    throw;
  }
  const std::vector<Tensor>& outputs = step.outputs;
  kept.assign(outputs.begin() + 2, outputs.begin() + 2 + ptrdiff_t(kept_count));
  std::vector<Tensor> gradients(outputs.begin() + 2 + ptrdiff_t(kept_count), outputs.end());
  // Gradients come in checkpoint order, parameters only: one per slot.
  DMDLK_CHECK(gradients.size() == slots_.size(), ErrorCode::Internal, "expected ", slots_.size(), " gradients, got ",
              gradients.size());
  double loss = outputs[0].to(Device::cpu()).to_vector<float>()[0];
  int32_t nonfinite = outputs[1].to(Device::cpu()).to_vector<int32_t>()[0];
  if (nonfinite > 0) {
    restore_statistics();
    std::string what = std::isnan(loss)   ? "the loss is NaN"
                       : std::isinf(loss) ? "the loss is infinite"
                                          : concat("the gradients hold ", nonfinite, " NaN or infinite values");
    throw Error(ErrorCode::NonFinite, concat("training step ", step_ + 1, ": ", what,
                                             "; the weights were left as they were before this step"));
  }
  AdamOptions o = options_;
  if (clip_grad_norm_ > 0) {
    last_grad_norm_ = std::sqrt(sum_of_squares(gradients));
    o.grad_scale = std::min(1.0, clip_grad_norm_ / (last_grad_norm_ + 1e-6));  // clip_grad_norm_'s coefficient
  }
  o.step = ++step_;
  std::vector<AdamSlot> update;
  for (size_t s = 0; s < slots_.size(); ++s)  // the parameter shares the model's storage: updated in place
    update.push_back({model_.state()[slots_[s].state_index].second, gradients[s], slots_[s].m, slots_[s].v});
  adam_step_all(update, o);
  return loss;
}

NamedTensors AdamTrainer::moments() const {
  NamedTensors out;
  for (const Slot& s : slots_) {
    const std::string& name = model_.state()[s.state_index].first;
    out.emplace_back("exp_avg." + name, s.m.to(Device::cpu()).clone());
    out.emplace_back("exp_avg_sq." + name, s.v.to(Device::cpu()).clone());
  }
  return out;
}

void AdamTrainer::set_moments(int64_t steps, const NamedTensors& moments) {
  DMDLK_CHECK(steps >= 0, ErrorCode::Checkpoint, "the optimizer's step count must be >= 0, got ", steps);
  std::map<std::string, Tensor> by_name(moments.begin(), moments.end());
  std::vector<Slot> next = slots_;
  for (Slot& s : next) {
    const auto& [name, parameter] = model_.state()[s.state_index];
    for (auto [prefix, target] : {std::pair{"exp_avg.", &s.m}, {"exp_avg_sq.", &s.v}}) {
      auto it = by_name.find(prefix + name);
      DMDLK_CHECK(it != by_name.end(), ErrorCode::Checkpoint, "the optimizer state lacks '", prefix, name, "'");
      DMDLK_CHECK(it->second.dtype() == DType::F32 && it->second.shape() == parameter.shape(), ErrorCode::Checkpoint,
                  "the optimizer state's '", prefix, name, "' must be float32 ", shape_str(parameter.shape()), ", got ",
                  dtype_name(it->second.dtype()), " ", shape_str(it->second.shape()));
      *target = it->second.to(model_.device()).clone();
      by_name.erase(it);
    }
  }
  DMDLK_CHECK(by_name.empty(), ErrorCode::Checkpoint, "the optimizer state holds '",
              by_name.empty() ? "" : by_name.begin()->first, "', which this model does not have");
  slots_ = std::move(next);
  step_ = steps;
}

}  // namespace dmdlk
