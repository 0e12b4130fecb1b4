#include "graph/graph.h"

#include <chrono>

#include "ops/binary.h"

namespace dmdlk {

ValueId Graph::add_value(ValueInfo info) {
  values_.push_back(std::move(info));
  return ValueId(values_.size() - 1);
}

std::vector<ValueId> Graph::add_node(Node node) {
  DType dtype = node.inputs.empty() ? DType::F32 : value(node.inputs[0]).dtype;
  std::vector<Shape> in;
  for (ValueId id : node.inputs) in.push_back(value(id).shape);
  for (const Shape& s : op_def(node.kind).infer_shape(in, node.attrs))
    node.outputs.push_back(add_value({"", s, dtype, ValueKind::Computed}));
  nodes_.push_back(std::move(node));
  return nodes_.back().outputs;
}

namespace {

bool computed(const Graph& graph, ValueId id) { return graph.value(id).kind == ValueKind::Computed; }

// Adds the time since `start` to the node's op kind, when profiling.
void account(std::map<OpKind, double>* table, const Node& node, std::chrono::steady_clock::time_point start) {
  if (!table) return;
  (*table)[node.kind] += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The index of the last node that reads each value (-1 if none).
std::vector<int> last_uses(const Graph& graph) {
  std::vector<int> last(graph.values().size(), -1);
  for (size_t n = 0; n < graph.nodes().size(); ++n)
    for (ValueId id : graph.nodes()[n].inputs) last[size_t(id)] = int(n);
  return last;
}

}  // namespace

void run_forward(const Graph& graph, Activations& run, const std::vector<ValueId>& keep_only) {
  run.values.resize(graph.values().size());
  for (size_t i = 0; i < graph.values().size(); ++i) {
    const ValueInfo& v = graph.values()[i];
    if (v.kind == ValueKind::Computed) continue;
    DMDLK_CHECK(run.values[i].defined(), ErrorCode::InvalidArg, "the graph's ",
                v.kind == ValueKind::Input ? "input" : "parameter", " '", v.name, "' is missing");
    DMDLK_CHECK(run.values[i].shape() == v.shape, ErrorCode::Shape, "'", v.name, "' must have shape ",
                shape_str(v.shape), ", got ", shape_str(run.values[i].shape()));
  }
  std::vector<int> last = keep_only.empty() ? std::vector<int>() : last_uses(graph);
  std::vector<bool> kept(graph.values().size(), keep_only.empty());
  for (ValueId id : keep_only) kept[size_t(id)] = true;
  for (size_t n = 0; n < graph.nodes().size(); ++n) {
    const Node& node = graph.nodes()[n];
    Tensors in;
    for (ValueId id : node.inputs) in.push_back(run.values[size_t(id)]);
    auto start = std::chrono::steady_clock::now();
    Tensors out = op_def(node.kind).forward(in, node.attrs);
    account(run.profile ? &run.profile->forward_seconds : nullptr, node, start);
    in.clear();
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      const ValueInfo& info = graph.value(node.outputs[k]);
      DMDLK_CHECK(out[k].shape() == info.shape, ErrorCode::Internal, op_def(node.kind).name, " ", node.label,
                  ": output ", k, " has shape ", shape_str(out[k].shape()), " but the graph planned ",
                  shape_str(info.shape));
      run.values[size_t(node.outputs[k])] = out[k];
    }
    if (keep_only.empty()) continue;
    // Inference: a value is freed after the last node that reads it.
    for (ValueId id : node.inputs)
      if (computed(graph, id) && !kept[size_t(id)] && last[size_t(id)] == int(n)) run.values[size_t(id)] = Tensor();
    for (ValueId id : node.outputs)
      if (!kept[size_t(id)] && last[size_t(id)] < 0) run.values[size_t(id)] = Tensor();
  }
}

WantedGrads wanted_grads(const Graph& graph, const Node& node) {
  DMDLK_CHECK(node.inputs.size() <= 32, ErrorCode::Internal, op_def(node.kind).name, " ", node.label, " has ",
              node.inputs.size(), " inputs: WantedGrads holds 32");
  WantedGrads wanted;
  for (size_t k = 0; k < node.inputs.size(); ++k) {
    ValueKind kind = graph.value(node.inputs[k]).kind;
    if (kind == ValueKind::Input || kind == ValueKind::Buffer) wanted.bits &= ~(1u << k);
  }
  return wanted;
}

void run_backward(const Graph& graph, Activations& run, ValueId loss) {
  const Tensor& l = run.values.at(size_t(loss));
  DMDLK_CHECK(l.defined() && l.numel() == 1, ErrorCode::InvalidArg, "backward needs a scalar loss");
  run.grads.assign(graph.values().size(), Tensor());
  // Set on the device, not copied from the host: a captured step (nn/step_graph.h) may not copy from host memory.
  run.grads[size_t(loss)] = Tensor::full(l.shape(), l.dtype(), l.device(), 1.0);
  for (auto it = graph.nodes().rbegin(); it != graph.nodes().rend(); ++it) {
    const Node& node = *it;
    Tensors dout;
    bool any = false;
    for (ValueId id : node.outputs) {
      dout.push_back(run.grads[size_t(id)]);
      any = any || dout.back().defined();
    }
    if (!any) continue;
    // A gradient an input has received, held by nothing else: the op may add its own into it.
    WantedGrads wanted = wanted_grads(graph, node);
    Tensors into(node.inputs.size());
    for (size_t k = 0; k < node.inputs.size(); ++k) {
      const Tensor& g = run.grads[size_t(node.inputs[k])];
      if (wanted[k] && g.sole_holder()) into[k] = g;  // an input read twice gets it once: the copy now holds it too
    }
    wanted.into = &into;
    Tensors in, out;
    for (ValueId id : node.inputs) in.push_back(run.values[size_t(id)]);
    for (ValueId id : node.outputs) out.push_back(run.values[size_t(id)]);
    auto start = std::chrono::steady_clock::now();
    Tensors din = op_def(node.kind).backward(in, out, dout, node.attrs, wanted);
    account(run.profile ? &run.profile->backward_seconds : nullptr, node, start);
    in.clear(), out.clear(), dout.clear();
    // Every reader of these outputs has run its backward (readers come later
    // in the forward order): their values and gradients are needed no more.
    for (ValueId id : node.outputs)
      if (id != loss) run.values[size_t(id)] = Tensor(), run.grads[size_t(id)] = Tensor();
    for (size_t k = 0; k < node.inputs.size() && k < din.size(); ++k) {
      ValueId id = node.inputs[k];
      if (!din[k].defined() || !wanted[k]) continue;
      Tensor& g = run.grads[size_t(id)];
      // The op added into what it was offered. (Not any gradient that shares g's storage: add
      // and reshape pass their output's gradient on, so add(x, x) gives x the same tensor twice.)
      if (into[k].defined() && din[k].raw() == into[k].raw()) continue;
      if (g.defined()) ++run.gradient_sums;
      g = g.defined() ? add(g, din[k]) : din[k];  // a value used twice sums its gradients
    }
  }
}

}  // namespace dmdlk
