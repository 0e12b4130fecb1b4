#include "nn/step_plan.h"

#include <map>

#include "gpu/adam.h"
#include "gpu/augment.h"
#include "gpu/binary.h"
#include "gpu/layout.h"
#include "nn/parameters.h"

namespace dmdlk {

namespace {

class Planner {
 public:
  explicit Planner(const Network& net) : net_(net) {}

  void add(const std::string& op, const std::string& where, const std::string& shapes, const cuda::LaunchPlan& plan) {
    launches.push_back({op, where, shapes, plan});
  }

  // Batch preparation on the device (data/augment.cpp, no augmentation):
  // uint8 images to float, masks to int32 class indices, then 2·x − 1.
  void prepare_batch(bool masks) {
    const Shape& images = net_.graph.value(net_.images).shape;
    int64_t n = shape_numel(images);
    add("prepare_batch", "unit_images", shape_str(images), cuda_ops::plan_unit_images(n));
    if (masks)
      add("prepare_batch", "warp_masks", shape_str(images), cuda_ops::plan_warp_masks(images[0], images[2], images[3]));
    add("prepare_batch", "to_network_input", shape_str(images), cuda_ops::plan_to_network_input(n));
    // Model::check_images: the input's NaN count (its counter zeroed first).
    add("check_images", "count_nonfinite", shape_str(images), cuda::plan_fill_zero(4));
    for (const cuda::LaunchPlan& p : cuda_ops::plan_count_nonfinite_all({n}, 4))
      add("check_images", "count_nonfinite", shape_str(images), p);
  }

  void node(const Node& n, Pass pass, WantedGrads wanted) {
    const OpDef& def = op_def(n.kind);
    std::vector<Shape> in;
    std::string shapes;
    for (ValueId v : n.inputs) {
      in.push_back(net_.graph.value(v).shape);
      shapes += (shapes.empty() ? "" : " ") + shape_str(in.back());
    }
    std::string where =
        concat(def.name, n.label.empty() ? "" : " ", n.label, pass == Pass::Forward ? " forward" : " backward");
    for (const cuda::LaunchPlan& p : def.cuda_launches(in, DType::F32, n.attrs, pass, wanted))
      add(def.name, where, shapes, p);
  }

  void forward() {
    for (const Node& n : net_.graph.nodes()) node(n, Pass::Forward, wanted_grads(net_.graph, n));
  }

  // As run_backward: each node's backward in reverse, and an add for every
  // gradient a value receives after its first, unless the op added it into
  // the first in place (OpDef::adds_into), which it may only where nothing
  // else holds that tensor: so the gradients' tensors are followed, which
  // values hold each (OpDef::passes_gradient: the op's output gradient
  // itself), as run_backward holds and releases them.
  void backward() {
    const Graph& g = net_.graph;
    // run_backward's seed: the loss's gradient, 1, set on the device (Tensor::full).
    add("backward_seed", "loss gradient", "[1]", cuda::elementwise_plan("fill_elements", 1, 4));
    std::vector<int64_t> tensor(g.values().size(), -1);  // the gradient tensor each value holds; -1: none
    std::map<int64_t, int> holders;
    int64_t tensors = 0;
    auto release = [&](ValueId v) {
      if (tensor[size_t(v)] >= 0) --holders[tensor[size_t(v)]];
      tensor[size_t(v)] = -1;
    };
    auto hold = [&](ValueId v, int64_t t) { tensor[size_t(v)] = t, ++holders[t]; };
    hold(net_.loss, tensors++);
    for (auto it = g.nodes().rbegin(); it != g.nodes().rend(); ++it) {
      const OpDef& def = op_def(it->kind);
      std::vector<Shape> in;
      for (ValueId v : it->inputs) in.push_back(g.value(v).shape);
      WantedGrads wanted = wanted_grads(g, *it);
      std::vector<bool> into(it->inputs.size(), false);
      for (size_t k = 0; k < it->inputs.size(); ++k) {
        int64_t t = tensor[size_t(it->inputs[k])];
        if (wanted[k] && t >= 0 && holders[t] == 1) into[k] = true, ++holders[t];  // the copy in `into`
      }
      for (size_t k = 0; k < it->inputs.size(); ++k) {
        if (into[k]) --holders[tensor[size_t(it->inputs[k])]];
        if (into[k] && k < 32 && def.adds_into && def.adds_into(in, it->attrs, k)) wanted.into_planned |= 1u << k;
      }
      node(*it, Pass::Backward, wanted);
      int64_t out = tensor[size_t(it->outputs[0])];
      if (out < 0) out = tensors++;  // (an output with no gradient: the graph skips the node; not in a network)
      ++holders[out];                // held by the backward's result while the outputs' gradients go
      for (ValueId v : it->outputs)
        if (v != net_.loss) release(v);
      for (size_t k = 0; k < it->inputs.size(); ++k) {
        ValueId v = it->inputs[k];
        if (!wanted[k]) continue;
        bool passed = def.passes_gradient && def.passes_gradient(in, it->attrs, k);
        if (tensor[size_t(v)] < 0) {
          hold(v, passed ? out : tensors++);
        } else if (!wanted.adds_into(k)) {
          const Shape& s = g.value(v).shape;
          add("add", "gradient sum", shape_str(s),
              cuda_ops::plan_binary_forward(make_broadcast_plan(s, s, "graph"), shape_numel(s), 4));
          release(v);
          hold(v, tensors++);
        }
      }
      --holders[out];
    }
  }

  // AdamTrainer::step around the graph: BatchNorm's statistics kept (a copy
  // each), the finiteness check over the loss and every gradient, then Adam.
  void trainer() {
    std::vector<int64_t> bytes;
    for (const TensorSpec& s : net_.layout)
      if (s.kind == TensorKind::Buffer) bytes.push_back(shape_numel(s.shape) * 4);  // float statistics
    for (const cuda::LaunchPlan& p : cuda_ops::plan_copy_bytes_all(bytes)) add("trainer", "keep buffers", "", p);
  }
  // The finiteness check over the loss and every gradient, and Adam over every
  // parameter: lists of tensors, a launch per 128 (ops/tensor_list.h).
  void optimizer() {
    add("trainer", "count_nonfinite", "[1]", cuda::plan_fill_zero(4));
    std::vector<int64_t> gradients{1}, parameters;  // the loss, then every parameter's gradient
    for (const TensorSpec& s : net_.layout)
      if (s.kind == TensorKind::Parameter)
        gradients.push_back(shape_numel(s.shape)), parameters.push_back(gradients.back());
    for (const cuda::LaunchPlan& p : cuda_ops::plan_count_nonfinite_all(gradients, 4))
      add("trainer", "count_nonfinite_all", "", p);
    for (const cuda::LaunchPlan& p : cuda_ops::plan_adam_step_all(parameters, 4)) add("adam", "adam_step_all", "", p);
  }

  std::vector<PlannedLaunch> launches;

 private:
  const Network& net_;
};

}  // namespace

std::vector<PlannedLaunch> plan_training_step(const ModelConfig& config, int64_t batch, LossKind loss) {
  Network net = build_network(config, batch, NetworkMode::Train, loss);
  Planner p(net);
  p.prepare_batch(true);
  p.trainer();
  p.forward();
  p.backward();
  p.optimizer();
  return std::move(p.launches);
}

std::vector<PlannedLaunch> plan_inference(const ModelConfig& config, int64_t batch) {
  Network net = build_network(config, batch, NetworkMode::Eval);
  Planner p(net);
  p.prepare_batch(false);
  p.forward();
  return std::move(p.launches);
}

}  // namespace dmdlk
