#include "nn/summary.h"

#include <map>

#include "nn/network.h"
#include "nn/parameters.h"

namespace dmdlk {

namespace {

// The convolutions that compute DDLK's sampling offsets: each convolution on
// the chain that ends in a deformable convolution's offset input (the dense
// k×k one; or, with light offsets, the depthwise k×k and the 1×1 after it).
std::vector<bool> offset_convolutions(const Graph& g) {
  const std::vector<Node>& nodes = g.nodes();
  std::vector<int> producer(g.values().size(), -1);
  for (size_t n = 0; n < nodes.size(); ++n)
    for (ValueId v : nodes[n].outputs) producer[size_t(v)] = int(n);
  std::vector<bool> offset(nodes.size(), false);
  for (const Node& n : nodes) {
    if (n.kind != OpKind::DeformConv2d) continue;
    for (int p = producer[size_t(n.inputs[1])]; p >= 0 && nodes[size_t(p)].kind == OpKind::Conv2d;
         p = producer[size_t(nodes[size_t(p)].inputs[0])])
      offset[size_t(p)] = true;
  }
  return offset;
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
  std::vector<bool> offset = offset_convolutions(eval.graph);
  for (size_t i = 0; i < eval.graph.nodes().size(); ++i) {
    const Node& n = eval.graph.nodes()[i];
    std::vector<Shape> in;
    for (ValueId v : n.inputs) in.push_back(eval.graph.value(v).shape);
    auto macs = int64_t(op_def(n.kind).cost(in, n.attrs).macs);
    ModuleCost& m = at(n.module);
    m.macs += macs;
    if (offset[i]) m.offset_macs += macs;
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
