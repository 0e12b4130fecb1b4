// The op cases of test/op_cases.json, read once for every check that runs
// them: the float64 gradient check, the PyTorch fixtures, CPU-vs-CUDA parity
// and bench/ops. Each case names its op (an OpDef), its attributes, its inputs
// at small odd shapes with the rule that draws their values, and optionally
// the network's own shapes and a bench row.
#pragma once
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "core/error.h"
#include "io/json.h"
#include "ops/attr_schema.h"
#include "ops/op.h"
#include "source_path.h"

namespace dmdlk::test {

struct InputSpec {
  std::string name;
  Shape shape;
  std::string init = "normal";  // normal | positive | unit | ties | integer | classes
  double scale = 1, shift = 0;
  int64_t classes = 0;
};

struct OpCase {
  std::string name;
  const OpDef* op = nullptr;
  OpAttrs attrs, network_attrs;
  std::vector<InputSpec> inputs, network;  // network: empty when the case has no network shapes
  std::string bench;                       // the bench/ops row, if any
  bool grad = true, torch = true, parity = true;
  double parity_tolerance = 2e-4;
};

namespace op_cases_detail {

inline const json::Value* member(const json::Value& o, const char* key) {
  for (const auto& [k, v] : o.members)
    if (k == key) return &v;
  return nullptr;
}

inline std::vector<InputSpec> read_inputs(const json::Value& object) {
  std::vector<InputSpec> specs;
  for (const auto& [name, v] : object.members) {
    InputSpec s;
    s.name = name;
    const json::Value* shape = v.kind == json::Value::Kind::Array ? &v : member(v, "shape");
    DMDLK_CHECK(shape, ErrorCode::Format, "op case input '", name, "' has no shape");
    for (const json::Value& d : shape->items) s.shape.push_back(int64_t(d.as_index("shape")));
    if (v.kind == json::Value::Kind::Object) {
      if (const json::Value* init = member(v, "init")) s.init = init->text;
      if (const json::Value* scale = member(v, "scale")) s.scale = std::stod(scale->text);
      if (const json::Value* shift = member(v, "shift")) s.shift = std::stod(shift->text);
      if (const json::Value* classes = member(v, "classes")) s.classes = int64_t(classes->as_index("classes"));
    }
    specs.push_back(std::move(s));
  }
  return specs;
}

inline std::vector<OpCase> read_cases() {
  std::string path = source_path("test/op_cases.json");
  std::ifstream in(path);
  DMDLK_CHECK(in.good(), ErrorCode::IO, "cannot read ", path);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  json::Value root = json::parse(s.data(), s.size());
  std::vector<OpCase> cases;
  json::Value none;
  for (const json::Value& c : member(root, "cases")->items) {
    OpCase k;
    k.name = member(c, "name")->text;
    k.op = &op_def(member(c, "op")->text);
    const json::Value* attrs = member(c, "attrs");
    k.attrs = parse_attrs(*k.op, attrs ? *attrs : none);
    const json::Value* network_attrs = member(c, "network_attrs");
    k.network_attrs = network_attrs ? parse_attrs(*k.op, *network_attrs) : k.attrs;
    k.inputs = read_inputs(*member(c, "inputs"));
    if (const json::Value* network = member(c, "network")) k.network = read_inputs(*network);
    if (const json::Value* bench = member(c, "bench")) k.bench = bench->text;
    if (const json::Value* checks = member(c, "checks")) {
      k.grad = k.torch = k.parity = false;
      for (const json::Value& check : checks->items) {
        k.grad = k.grad || check.text == "grad";
        k.torch = k.torch || check.text == "torch";
        k.parity = k.parity || check.text == "parity";
      }
    }
    if (const json::Value* tolerance = member(c, "tolerance"))
      if (const json::Value* parity = member(*tolerance, "parity")) k.parity_tolerance = std::stod(parity->text);
    cases.push_back(std::move(k));
  }
  return cases;
}

}  // namespace op_cases_detail

inline const std::vector<OpCase>& op_cases() {
  static const std::vector<OpCase> cases = op_cases_detail::read_cases();
  return cases;
}

// What no case that `counts` accepts covers: every op kind, and every value of
// each attribute enum (the names its table lists), each named as a suite's
// failure says it ("activation 'silu'"). Every check that runs the cases asks
// here, so a new op or enum value fails each suite until a case covers it.
template <class Counts>
std::vector<std::string> uncovered(Counts counts) {
  std::vector<std::string> missing;
  for (size_t k = 0; k < size_t(OpKind::Count); ++k) {
    bool found = false;
    for (const OpCase& c : op_cases()) found = found || (c.op->kind == OpKind(k) && counts(c));
    if (!found) missing.push_back(concat("op '", op_def(OpKind(k)).name, "'"));
  }
  // `value_of` reads the enum from a case's attributes.
  auto values = [&](OpKind kind, const auto& names, auto value_of) {
    for (const auto& entry : names) {
      bool found = false;
      for (const OpCase& c : op_cases())
        found = found || (c.op->kind == kind && counts(c) && value_of(c.attrs) == entry.value);
      if (!found) missing.push_back(concat("op '", op_def(kind).name, "' with '", entry.name, "'"));
    }
  };
  values(OpKind::Activation, kActivationNames, [](const OpAttrs& a) { return std::get<Activation>(a); });
  values(OpKind::LayerNorm, kLayerNormAxisNames, [](const OpAttrs& a) { return std::get<LayerNormAxis>(a); });
  values(OpKind::BatchNorm, kActivationNames, [](const OpAttrs& a) { return std::get<BatchNormAttrs>(a).activation; });
  return missing;
}

// Values drawn by each input's rule (the rules of reference_ops.make_input):
// floating inputs in `dtype`, class indices int32; on the CPU.
inline Tensors draw_inputs(const std::vector<InputSpec>& specs, DType dtype, std::mt19937& rng) {
  Tensors out;
  for (const InputSpec& s : specs) {
    int64_t n = shape_numel(s.shape);
    if (s.init == "classes") {
      std::uniform_int_distribution<int32_t> pick(0, int32_t(s.classes) - 1);
      std::vector<int32_t> v(static_cast<size_t>(n));
      for (int32_t& x : v) x = pick(rng);
      out.push_back(Tensor::from_vector(v, s.shape));
      continue;
    }
    std::normal_distribution<double> normal(0.0, 1.0);
    std::uniform_real_distribution<double> uniform(0.0, 1.0);
    std::vector<double> v(static_cast<size_t>(n));
    for (double& x : v) {
      if (s.init == "positive") x = uniform(rng) + 0.5;
      else if (s.init == "unit") x = uniform(rng);
      else if (s.init == "ties") x = std::round(normal(rng) * 2) / 2;
      else if (s.init == "integer") x = std::round(normal(rng) * s.scale);
      else x = normal(rng) * s.scale + s.shift;
    }
    if (dtype == DType::F64) out.push_back(Tensor::from_vector(v, s.shape));
    else out.push_back(Tensor::from_vector(std::vector<float>(v.begin(), v.end()), s.shape));
  }
  return out;
}

// The shapes of a set of inputs.
inline std::vector<Shape> shapes_of(const std::vector<InputSpec>& specs) {
  std::vector<Shape> shapes;
  for (const InputSpec& s : specs) shapes.push_back(s.shape);
  return shapes;
}

}  // namespace dmdlk::test
