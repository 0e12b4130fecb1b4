#include "nn/summary.h"

#include <map>

#include "nn/network.h"
#include "nn/parameters.h"

namespace dmdlk {

namespace {

// Multiply-accumulates of one node, from its shapes: the ops that do matrix work.
int64_t node_macs(const Graph& g, const Node& n) {
  auto shape = [&](ValueId v) -> const Shape& { return g.value(v).shape; };
  int64_t out = n.outputs.empty() ? 0 : shape_numel(shape(n.outputs[0]));
  const std::string& op = n.op;
  if (op.rfind("conv2d", 0) == 0) {
    const Shape& w = shape(n.inputs[1]);
    return out * w[1] * w[2] * w[3];
  }
  if (op.rfind("deform_conv2d", 0) == 0) {
    const Shape& w = shape(n.inputs[2]);
    return out * w[2] * w[3];
  }
  if (op.rfind("linear", 0) == 0) return out * shape(n.inputs[1])[1];
  if (op == "matmul") return out * shape(n.inputs[0]).back();
  if (op == "attention") {  // Q·Kᵀ and P·V over every head: 2 · windows · N² · C
    const Shape& q = shape(n.inputs[0]);
    return 2 * q[0] * q[1] * q[1] * q[2];
  }
  return 0;
}

}  // namespace

std::vector<ModuleCost> summarize(const ModelConfig& config) {
  std::vector<ModuleCost> modules;
  std::map<std::string, size_t> index;
  auto at = [&](const std::string& name) -> ModuleCost& {
    auto it = index.find(name);
    if (it == index.end()) {
      it = index.emplace(name, modules.size()).first;
      modules.push_back({name});
    }
    return modules[it->second];
  };
  for (const TensorSpec& s : checkpoint_layout(config))
    if (s.kind == TensorKind::Parameter) at(s.name.substr(0, s.name.find('.'))).parameters += shape_numel(s.shape);
  Network eval = build_network(config, 1, NetworkMode::Eval);
  for (const Node& n : eval.graph.nodes()) {
    int64_t macs = node_macs(eval.graph, n);
    ModuleCost& m = at(n.module);
    m.macs += macs;
    if (n.op.find(".offset") != std::string::npos) m.offset_macs += macs;
  }
  Network train = build_network(config, 1, NetworkMode::Train);
  for (const Node& n : train.graph.nodes())
    for (ValueId v : n.outputs) {
      const ValueInfo& info = train.graph.value(v);
      at(n.module).activation_bytes += shape_numel(info.shape) * int64_t(dtype_size(info.dtype));
    }
  return modules;
}

}  // namespace dmdlk
