// The graph as JSON, as tools outside the core read it (the ONNX exporter,
// lib/onnx): every op's attributes written by attrs_json read back by its
// OpDef to the same attributes, and a network's evaluation graph naming every
// checkpoint tensor once, with the shapes and ops build_network made.
#include <map>

#include "harness.h"
#include "nn/network.h"
#include "nn/network_json.h"
#include "nn/parameters.h"
#include "op_cases.h"
#include "ops/attrs_json.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

json::Value parse_text(const std::string& text) { return json::parse(text.data(), text.size()); }

const json::Value& member(const json::Value& object, const char* key) {
  for (const auto& [k, v] : object.members)
    if (k == key) return v;
  throw Error(ErrorCode::Internal, concat("no member '", key, "'"));
}

Shape shape_of(const json::Value& array) {
  Shape s;
  for (const json::Value& d : array.items) s.push_back(int64_t(d.as_index("dim")));
  return s;
}

}  // namespace

TEST(every_case_attributes_round_trip_through_json) {
  for (const OpCase& c : op_cases()) {
    std::string text = attrs_json(c.attrs);
    std::string again = attrs_json(parse_attrs(*c.op, parse_text(text)));
    if (again != text) fail(__FILE__, __LINE__, concat(c.name, ": ", text, " read back as ", again));
  }
}

// The attribute declarations (ops/attr_schema.h): every op's defaults round
// trip, and the reader refuses what a declaration does not allow, naming the
// op and the attribute.
TEST(attributes_are_read_by_their_declaration) {
  for (size_t k = 0; k < size_t(OpKind::Count); ++k) {
    const OpDef& def = op_def(OpKind(k));
    std::string text = attrs_json(def.defaults());
    CHECK_EQ(attrs_json(parse_attrs(def, parse_text(text))), text);
    if (def.kind != OpKind::Reshape && def.kind != OpKind::WindowMerge)  // their shapes are required
      CHECK_EQ(attrs_json(parse_attrs(def, json::Value())), text);       // null: every default
  }
  const OpDef& conv = op_def(OpKind::Conv2d);
  CHECK_EQ(std::get<Conv2dOptions>(parse_attrs(conv, parse_text(R"({"stride": [2, 3], "padding": 1})"))).stride_w,
           int64_t(3));
  CHECK_THROWS(parse_attrs(conv, parse_text(R"({"pad": 1})")), ErrorCode::InvalidArg, "conv2d has no attribute 'pad'");
  CHECK_THROWS(parse_attrs(conv, parse_text(R"({"stride": 0})")), ErrorCode::InvalidArg,
               "conv2d: attribute 'stride' must be in [1, 1048576], got 0");
  CHECK_THROWS(parse_attrs(conv, parse_text(R"({"dilation": [1, 2, 3]})")), ErrorCode::InvalidArg,
               "must be an integer or [h, w] of integers, got an array of 3");
  CHECK_THROWS(parse_attrs(conv, parse_text("[1]")), ErrorCode::InvalidArg, "attributes must be a JSON object");
  CHECK_THROWS(parse_attrs(op_def(OpKind::Activation), parse_text(R"({"kind": "relu"})")), ErrorCode::InvalidArg,
               "activation: attribute 'kind' must be one of gelu, silu, sigmoid, identity, got 'relu'");
  CHECK_THROWS(parse_attrs(op_def(OpKind::BatchNorm), parse_text(R"({"training": 1})")), ErrorCode::InvalidArg,
               "batch_norm: attribute 'training' must be true or false, got 1");
  CHECK_THROWS(parse_attrs(op_def(OpKind::Reshape), parse_text("{}")), ErrorCode::InvalidArg,
               "reshape: attribute 'shape' is required");
  CHECK_THROWS(parse_attrs(op_def(OpKind::WindowMerge), parse_text(R"({"window": 7})")), ErrorCode::InvalidArg,
               "window_merge: attribute 'image' is required");
  CHECK_THROWS(parse_attrs(op_def(OpKind::WindowPartition), parse_text(R"({"image": [1, 2, 3, 4]})")),
               ErrorCode::InvalidArg, "window_partition has no attribute 'image'");
}

TEST(inference_graph_json_is_the_evaluation_graph) {
  ModelConfig config;
  config.input_size = 64;
  config.stem = 8;
  config.widths = {8, 16, 16, 32};
  config.depths = {1, 1, 2, 1};
  config.head_dim = 8;
  Network net = build_network(config, 2, NetworkMode::Eval);
  json::Value g = parse_text(network_json(config, 2));
  const json::Value &values = member(g, "values"), &nodes = member(g, "nodes");
  CHECK_EQ(values.items.size(), net.graph.values().size());
  CHECK_EQ(nodes.items.size(), net.graph.nodes().size());
  for (size_t i = 0; i < nodes.items.size() && i < net.graph.nodes().size(); ++i)
    CHECK_EQ(member(nodes.items[i], "op").text, std::string(op_def(net.graph.nodes()[i].kind).name));
  CHECK(shape_of(member(values.items[member(g, "images").as_index("images")], "shape")) == Shape({2, 3, 64, 64}));
  CHECK(shape_of(member(values.items[member(g, "logits").as_index("logits")], "shape")) == Shape({2, 2, 64, 64}));
  // Every checkpoint tensor once, with its shape, as a parameter or a buffer.
  std::map<std::string, Shape> stored;
  for (const json::Value& v : values.items) {
    const std::string& kind = member(v, "kind").text;
    if (kind == "parameter" || kind == "buffer") {
      CHECK_EQ(stored.count(member(v, "name").text), size_t(0));
      stored[member(v, "name").text] = shape_of(member(v, "shape"));
    }
  }
  std::vector<TensorSpec> layout = checkpoint_layout(config);
  CHECK_EQ(stored.size(), layout.size());
  for (const TensorSpec& s : layout) {
    if (!stored.count(s.name) || stored[s.name] != s.shape)
      fail(__FILE__, __LINE__, concat(s.name, " missing or reshaped"));
  }
}

int main() { return run_all(); }
