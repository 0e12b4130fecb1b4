#include "nn/network_json.h"

#include <sstream>

#include "io/json.h"
#include "nn/network.h"
#include "ops/attrs_json.h"

namespace dmdlk {

namespace {

const char* kind_name(ValueKind kind) {
  switch (kind) {
    case ValueKind::Input: return "input";
    case ValueKind::Parameter: return "parameter";
    case ValueKind::Buffer: return "buffer";
    case ValueKind::Computed: return "computed";
  }
  return "";  // not reached: the switch names every kind (-Werror=switch)
}

template <typename Container>
std::string list(const Container& items) {
  std::string text = "[";
  for (size_t i = 0; i < items.size(); ++i) text += (i ? ", " : "") + std::to_string(items[i]);
  return text + "]";
}

}  // namespace

std::string network_json(const ModelConfig& config, int64_t batch) {
  Network net = build_network(config, batch, NetworkMode::Eval);
  const Graph& g = net.graph;
  std::ostringstream out;
  out << "{\"images\": " << net.images << ", \"logits\": " << net.logits << ", \"values\": [";
  for (size_t i = 0; i < g.values().size(); ++i) {
    const ValueInfo& v = g.values()[i];
    out << (i ? ", " : "") << "{\"name\": " << json::quote(v.name) << ", \"shape\": " << list(v.shape)
        << ", \"kind\": \"" << kind_name(v.kind) << "\"}";
  }
  out << "], \"nodes\": [";
  for (size_t i = 0; i < g.nodes().size(); ++i) {
    const Node& n = g.nodes()[i];
    out << (i ? ", " : "") << "{\"op\": " << json::quote(op_def(n.kind).name) << ", \"attrs\": " << attrs_json(n.attrs)
        << ", \"label\": " << json::quote(n.label) << ", \"module\": " << json::quote(n.module)
        << ", \"inputs\": " << list(n.inputs) << ", \"outputs\": " << list(n.outputs) << "}";
  }
  out << "]}";
  return out.str();
}

}  // namespace dmdlk
