#include "nn/model.h"

#include <cmath>
#include <random>

#include "nn/config.h"
#include "ops/adam.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

Tensor initial_value(const TensorSpec& spec, std::mt19937_64& rng) {
  std::vector<float> v(size_t(shape_numel(spec.shape)));
  switch (spec.init) {
    case Init::Zeros: break;
    case Init::Ones: std::fill(v.begin(), v.end(), 1.0f); break;
    case Init::KaimingUniform: {
      // PyTorch's default for conv and linear weights and biases: U(±1/√fan_in).
      float bound = float(1.0 / std::sqrt(double(std::max<int64_t>(1, spec.fan_in))));
      std::uniform_real_distribution<float> uniform(-bound, bound);
      for (float& x : v) x = uniform(rng);
      break;
    }
    case Init::TruncNormal: {
      std::normal_distribution<float> normal(0.0f, 0.02f);
      for (float& x : v) do
          x = normal(rng);
        while (std::fabs(x) > 2.0f);
      break;
    }
  }
  return Tensor::from_vector(v, spec.shape);
}

}  // namespace

std::unique_ptr<Model> Model::create(const ModelConfig& config, Device device, uint64_t seed) {
  validate(config);
  std::unique_ptr<Model> model(new Model(config, device));
  std::mt19937_64 rng(seed);
  for (const TensorSpec& spec : checkpoint_layout(config))
    model->state_.emplace_back(spec.name, initial_value(spec, rng).to(device));
  return model;
}

std::unique_ptr<Model> Model::load(const std::string& path, Device device, const ModelConfig* config) {
  SafetensorsContents file = read_safetensors(path);
  ModelConfig chosen;
  if (config) {
    chosen = *config;
    validate(chosen);
  } else {
    auto it = file.metadata.find("config");
    DMDLK_CHECK(it != file.metadata.end(), ErrorCode::Checkpoint, "'", path,
                "' has no \"config\" metadata: pass the model's configuration to load it");
    try {
      chosen = config_from_json(it->second);
    } catch (const Error& e) {
      throw Error(ErrorCode::Checkpoint, concat("'", path, "' holds an invalid configuration: ", e.what()));
    }
  }
  std::map<std::string, Tensor> tensors;
  for (auto& [name, tensor] : file.tensors) {
    if (name.size() >= 19 && name.compare(name.size() - 19, 19, "num_batches_tracked") == 0) continue;  // PyTorch's
    tensors[name] = tensor;
  }
  std::unique_ptr<Model> model(new Model(chosen, device));
  for (const TensorSpec& spec : checkpoint_layout(chosen)) {
    auto it = tensors.find(spec.name);
    DMDLK_CHECK(it != tensors.end(), ErrorCode::Checkpoint, "'", path, "' lacks tensor '", spec.name, "' ",
                shape_str(spec.shape));
    DMDLK_CHECK(it->second.dtype() == DType::F32, ErrorCode::Checkpoint, "'", path, "': tensor '", spec.name, "' is ",
                dtype_name(it->second.dtype()), ", expected float32");
    DMDLK_CHECK(it->second.shape() == spec.shape, ErrorCode::Checkpoint, "'", path, "': tensor '", spec.name,
                "' has shape ", shape_str(it->second.shape()), ", expected ", shape_str(spec.shape));
    model->state_.emplace_back(spec.name, it->second.to(device));
    tensors.erase(it);
  }
  DMDLK_CHECK(tensors.empty(), ErrorCode::Checkpoint, "'", path, "' holds tensor '",
              tensors.empty() ? "" : tensors.begin()->first, "', which this configuration does not have");
  return model;
}

void Model::save(const std::string& path, const std::map<std::string, std::string>& metadata) const {
  std::map<std::string, std::string> meta = metadata;
  meta["config"] = config_to_json(config_);
  meta["format"] = "dmdlk-native";
  meta["version"] = DMDLK_VERSION;
  write_safetensors(path, state_, meta);
}

void Model::set_state(const NamedTensors& tensors) {
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < state_.size(); ++i) index[state_[i].first] = i;
  NamedTensors next = state_;
  for (const auto& [name, t] : tensors) {
    auto it = index.find(name);
    DMDLK_CHECK(it != index.end(), ErrorCode::InvalidArg, "the model has no tensor '", name, "'");
    const Tensor& current = state_[it->second].second;
    DMDLK_CHECK(t.defined() && t.dtype() == DType::F32, ErrorCode::DType, "tensor '", name, "' must be float32");
    DMDLK_CHECK(t.shape() == current.shape(), ErrorCode::Shape, "tensor '", name, "' must have shape ",
                shape_str(current.shape()), ", got ", shape_str(t.shape()));
    next[it->second].second = t.to(device_).clone();  // the model owns its weights
  }
  state_ = std::move(next);
  ++state_version_;
}

const Network& Model::network(int64_t batch, NetworkMode mode, LossKind loss) {
  auto key = std::make_tuple(batch, mode, loss);
  auto it = networks_.find(key);
  if (it == networks_.end()) it = networks_.emplace(key, build_network(config_, batch, mode, loss)).first;
  return it->second;
}

StepMemory& Model::step_memory(int64_t batch, NetworkMode mode, LossKind loss) {
  std::unique_ptr<StepMemory>& m = memories_[std::make_tuple(batch, mode, loss)];
  if (!m) m = std::make_unique<StepMemory>(device_);
  return *m;
}

void Model::check_images(const Tensor& images, const char* op) const {
  check_defined(images, op, "images");
  int64_t s = config_.input_size;
  DMDLK_CHECK(images.dtype() == DType::F32, ErrorCode::DType, op, ": images must be float32, got ",
              dtype_name(images.dtype()));
  DMDLK_CHECK(images.rank() == 4 && images.dim(0) >= 1 && images.dim(1) == config_.in_channels && images.dim(2) == s &&
                  images.dim(3) == s,
              ErrorCode::Shape, op, ": images must have shape [B, ", config_.in_channels, ", ", s, ", ", s, "], got ",
              shape_str(images.shape()));
  // NaN or infinite pixels would turn every output NaN without a word: refuse them here.
  Tensor bad = Tensor::zeros({1}, DType::I32, images.device());
  count_nonfinite(images, bad);
  int32_t n = bad.to(Device::cpu()).to_vector<int32_t>()[0];
  DMDLK_CHECK(n == 0, ErrorCode::InvalidArg, op, ": images hold ", n, " NaN or infinite values");
}

Activations Model::bind(const Network& net, const Tensor& images) const {
  Activations run;
  run.values.resize(net.graph.values().size());
  for (size_t i = 0; i < state_.size(); ++i) run.values[size_t(net.state[i].second)] = state_[i].second;
  run.values[size_t(net.images)] = images.to(device_);
  run.profile = profile_;
  return run;
}

StepGraphs::Result Model::run_step(int64_t batch, NetworkMode mode, LossKind loss, const std::vector<Tensor>& inputs,
                                   const StepGraphs::Work& work) {
  StepMemory& memory = step_memory(batch, mode, loss);
  if (profile_) return StepGraphs::launched(memory, inputs, work);
  StepGraphs::Key key{batch, int(mode), int(loss), matmul_precision()};
  return graphs_.run(key, device_, memory, state_version_, inputs, work);
}

Tensor Model::forward(const Tensor& images) {
  check_images(images, "forward");
  const Network& net = network(images.dim(0), NetworkMode::Eval);
  StepGraphs::Result r =
      run_step(images.dim(0), NetworkMode::Eval, LossKind::CrossEntropy, {images}, [&](const std::vector<Tensor>& in) {
        Activations run = bind(net, in[0]);
        run_forward(net.graph, run, {net.logits});
        return std::vector<Tensor>{run.values[size_t(net.logits)]};
      });
  // A graph's logits are overwritten by its next replay: the caller gets its own.
  return r.from_graph ? r.outputs[0].clone() : r.outputs[0];
}

void Model::check_batch(const Tensor& images, const Tensor& masks, const char* op) const {
  check_images(images, op);
  check_defined(masks, op, "masks");
  int64_t s = config_.input_size;
  DMDLK_CHECK(masks.dtype() == DType::I32, ErrorCode::DType, op, ": masks must be int32 class indices, got ",
              dtype_name(masks.dtype()));
  check_shape(masks, {images.dim(0), s, s}, op, "masks");
}

Model::LossAndGradients Model::loss_and_gradients(const Tensor& images, const Tensor& masks, LossKind loss) {
  check_batch(images, masks, "lossAndGradients");
  StepMemory::Scope planned(&step_memory(images.dim(0), NetworkMode::Train, loss));
  return loss_and_gradients_unchecked(images, masks, loss);
}

Model::LossAndGradients Model::loss_and_gradients_unchecked(const Tensor& images, const Tensor& masks, LossKind loss) {
  const Network& net = network(images.dim(0), NetworkMode::Train, loss);
  Activations run = bind(net, images);
  run.values[size_t(net.masks)] = masks.to(device_);
  run_forward(net.graph, run);
  Tensor logits = run.values[size_t(net.logits)];
  run_backward(net.graph, run, net.loss);
  LossAndGradients out{run.values[size_t(net.loss)], {}, logits};
  for (const auto& [name, id] : net.state)
    if (net.graph.value(id).kind == ValueKind::Parameter) out.gradients.emplace_back(name, run.grads[size_t(id)]);
  return out;
}

}  // namespace dmdlk
