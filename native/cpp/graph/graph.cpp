#include "graph/graph.h"

#include "ops/binary.h"

namespace dmdlk {

ValueId Graph::add_value(ValueInfo info) {
  values_.push_back(std::move(info));
  return ValueId(values_.size() - 1);
}

std::vector<ValueId> Graph::add_node(Node node, const std::vector<Shape>& output_shapes) {
  DType dtype = node.inputs.empty() ? DType::F32 : value(node.inputs[0]).dtype;
  for (const Shape& s : output_shapes) node.outputs.push_back(add_value({"", s, dtype, ValueKind::Computed}));
  nodes_.push_back(std::move(node));
  return nodes_.back().outputs;
}

void run_forward(const Graph& graph, Activations& run) {
  run.values.resize(graph.values().size());
  for (size_t i = 0; i < graph.values().size(); ++i) {
    const ValueInfo& v = graph.values()[i];
    if (v.kind == ValueKind::Computed) continue;
    DMDLK_CHECK(run.values[i].defined(), ErrorCode::InvalidArg, "the graph's ",
                v.kind == ValueKind::Input ? "input" : "parameter", " '", v.name, "' is missing");
    DMDLK_CHECK(run.values[i].shape() == v.shape, ErrorCode::Shape, "'", v.name, "' must have shape ",
                shape_str(v.shape), ", got ", shape_str(run.values[i].shape()));
  }
  for (const Node& node : graph.nodes()) {
    Tensors in;
    for (ValueId id : node.inputs) in.push_back(run.values[size_t(id)]);
    Tensors out = node.forward(in);
    for (size_t k = 0; k < node.outputs.size(); ++k) {
      const ValueInfo& info = graph.value(node.outputs[k]);
      DMDLK_CHECK(out[k].shape() == info.shape, ErrorCode::Internal, node.op, ": output ", k, " has shape ",
                  shape_str(out[k].shape()), " but the graph planned ", shape_str(info.shape));
      run.values[size_t(node.outputs[k])] = out[k];
    }
  }
}

void run_backward(const Graph& graph, Activations& run, ValueId loss) {
  const Tensor& l = run.values.at(size_t(loss));
  DMDLK_CHECK(l.defined() && l.numel() == 1, ErrorCode::InvalidArg, "backward needs a scalar loss");
  run.grads.assign(graph.values().size(), Tensor());
  std::vector<float> one(1, 1.0f);
  run.grads[size_t(loss)] = Tensor::from_host(one.data(), l.shape(), DType::F32, l.device());
  for (auto it = graph.nodes().rbegin(); it != graph.nodes().rend(); ++it) {
    const Node& node = *it;
    Tensors dout;
    bool any = false;
    for (ValueId id : node.outputs) {
      dout.push_back(run.grads[size_t(id)]);
      any = any || dout.back().defined();
    }
    if (!any) continue;
    Tensors in, out;
    for (ValueId id : node.inputs) in.push_back(run.values[size_t(id)]);
    for (ValueId id : node.outputs) out.push_back(run.values[size_t(id)]);
    Tensors din = node.backward(in, out, dout);
    for (size_t k = 0; k < node.inputs.size() && k < din.size(); ++k) {
      ValueId id = node.inputs[k];
      ValueKind kind = graph.value(id).kind;
      if (!din[k].defined() || kind == ValueKind::Input || kind == ValueKind::Buffer) continue;
      Tensor& g = run.grads[size_t(id)];
      g = g.defined() ? add(g, din[k]) : din[k];  // a value used twice sums its gradients
    }
  }
}

}  // namespace dmdlk
