#include "nn/step_plan.h"

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
    add("check_images", "count_nonfinite", shape_str(images), cuda_ops::plan_count_nonfinite(n, 4));
  }

  void node(const Node& n, Pass pass) {
    const OpDef& def = op_def(n.kind);
    std::vector<Shape> in;
    std::string shapes;
    for (ValueId v : n.inputs) {
      in.push_back(net_.graph.value(v).shape);
      shapes += (shapes.empty() ? "" : " ") + shape_str(in.back());
    }
    std::string where =
        concat(def.name, n.label.empty() ? "" : " ", n.label, pass == Pass::Forward ? " forward" : " backward");
    for (const cuda::LaunchPlan& p : def.cuda_launches(in, DType::F32, n.attrs, pass, wanted_grads(net_.graph, n)))
      add(def.name, where, shapes, p);
  }

  void forward() {
    for (const Node& n : net_.graph.nodes()) node(n, Pass::Forward);
  }

  // As run_backward: each node's backward in reverse, and an add for every
  // gradient a value receives after its first.
  void backward() {
    const Graph& g = net_.graph;
    // run_backward's seed: the loss's gradient, 1, set on the device (Tensor::full).
    add("backward_seed", "loss gradient", "[1]", cuda::elementwise_plan("fill_elements", 1, 4));
    std::vector<int> received(g.values().size(), 0);
    for (auto it = g.nodes().rbegin(); it != g.nodes().rend(); ++it) {
      node(*it, Pass::Backward);
      for (ValueId v : it->inputs) {
        ValueKind kind = g.value(v).kind;
        if (kind == ValueKind::Input || kind == ValueKind::Buffer) continue;
        if (received[size_t(v)]++ > 0) {
          const Shape& s = g.value(v).shape;
          add("add", "gradient sum", shape_str(s),
              cuda_ops::plan_binary_forward(make_broadcast_plan(s, s, "graph"), shape_numel(s), 4));
        }
      }
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
  // parameter: lists of tensors, a launch per 64 (ops/tensor_list.h).
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
