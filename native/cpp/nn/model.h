// A DMDLK-Net: its configuration, its checkpoint tensors on one device, and
// the graphs it has built (one per batch size and mode, built on first use
// and reused). Checkpoints are safetensors files holding exactly the tensors
// of checkpoint_layout() by name, float32, with the configuration as JSON in
// the "config" metadata entry.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <tuple>

#include "io/safetensors.h"
#include "memory/step_memory.h"
#include "nn/network.h"
#include "nn/parameters.h"
#include "nn/step_graph.h"

namespace dmdlk {

class Model {
 public:
  // Fresh weights by docs/architecture.md's initialisation, from `seed`.
  static std::unique_ptr<Model> create(const ModelConfig& config, Device device, uint64_t seed);
  // A checkpoint written by save() or by PyTorch (a state_dict of the reference
  // model; num_batches_tracked is accepted and ignored). The configuration
  // comes from its metadata unless `config` is given. Every name, shape and
  // dtype is checked; the first mismatch is an ERR_CHECKPOINT naming it.
  static std::unique_ptr<Model> load(const std::string& path, Device device, const ModelConfig* config = nullptr);
  // Writes atomically; `metadata` is stored beside the configuration.
  void save(const std::string& path, const std::map<std::string, std::string>& metadata = {}) const;

  const ModelConfig& config() const { return config_; }
  Device device() const { return device_; }
  // The checkpoint's tensors, parameters and buffers (BatchNorm statistics), in
  // checkpoint order: PyTorch's state_dict. The TypeScript API calls them
  // parameters() because that is what its users read and replace; "state"
  // here keeps the word for what a checkpoint holds.
  const NamedTensors& state() const { return state_; }
  // Replaces tensors by name (shapes checked); names not given keep their values.
  void set_state(const NamedTensors& tensors);

  // Evaluation mode: images [B, inChannels, S, S] float32 -> logits [B, numClasses, S, S].
  Tensor forward(const Tensor& images);

  struct LossAndGradients {
    Tensor loss;             // scalar
    NamedTensors gradients;  // every parameter's, in checkpoint order
    Tensor logits;
  };
  // Training mode (BatchNorm on batch statistics, running statistics updated):
  // masks [B, S, S] int32 class indices; the loss is the mean cross-entropy
  // (plus the soft Dice loss with LossKind::CrossEntropyDice).
  LossAndGradients loss_and_gradients(const Tensor& images, const Tensor& masks,
                                      LossKind loss = LossKind::CrossEntropy);
  // What loss_and_gradients checks first (op names the caller in errors)...
  void check_batch(const Tensor& images, const Tensor& masks, const char* op) const;
  // ...and what it then computes, for a step's work (run_step) on a checked batch.
  LossAndGradients loss_and_gradients_unchecked(const Tensor& images, const Tensor& masks, LossKind loss);

  // Runs `work` on `inputs` as one step of its kind (batch size, mode,
  // loss) under that kind's memory plan, replayed from a CUDA graph once it
  // can be (nn/step_graph.h); never while profiling, whose timing synchronises.
  StepGraphs::Result run_step(int64_t batch, NetworkMode mode, LossKind loss, const std::vector<Tensor>& inputs,
                              const StepGraphs::Work& work);
  const StepGraphs::Stats& graph_stats() const { return graphs_.stats(); }

  // When set, forward and loss_and_gradients add their per-op times here.
  void set_profile(OpProfile* profile) { profile_ = profile; }

  // The memory planner of the steps of one graph (created on first use); a
  // training step's planner is the trainer's, around this model's.
  StepMemory& step_memory(int64_t batch, NetworkMode mode, LossKind loss = LossKind::CrossEntropy);

 private:
  Model(ModelConfig config, Device device) : config_(std::move(config)), device_(device) {}
  const Network& network(int64_t batch, NetworkMode mode, LossKind loss = LossKind::CrossEntropy);
  Activations bind(const Network& net, const Tensor& images) const;
  void check_images(const Tensor& images, const char* op) const;

  ModelConfig config_;
  Device device_;
  NamedTensors state_;
  std::map<std::tuple<int64_t, NetworkMode, LossKind>, Network> networks_;
  std::map<std::tuple<int64_t, NetworkMode, LossKind>, std::unique_ptr<StepMemory>> memories_;
  OpProfile* profile_ = nullptr;
  StepGraphs graphs_;
  uint64_t state_version_ = 0;  // set_state replaces tensors a captured graph reads
};

}  // namespace dmdlk
