// Reads the PyTorch reference fixtures of test/fixtures (written by
// test/reference/*.py): tensors "<case>.<name>" and, per case, a metadata
// entry "<case>" with the op and its options as JSON.
#pragma once
#include <map>
#include <string>

#include "io/json.h"
#include "io/safetensors.h"
#include "source_path.h"

namespace dmdlk::test {

struct FixtureCase {
  std::string name;
  json::Value options;                    // {"op": ..., "inputs": [...], ...}
  std::map<std::string, Tensor> tensors;  // by operand name, without the "<case>." prefix

  const std::string& op() const { return field("op").text; }
  const json::Value& field(const std::string& key) const {
    for (const auto& [k, v] : options.members)
      if (k == key) return v;
    throw Error(ErrorCode::Format, concat("fixture ", name, " has no field ", key));
  }
  int64_t integer(const std::string& key, size_t index) const {
    return static_cast<int64_t>(field(key).items.at(index).as_index(key.c_str()));
  }
  int64_t integer_field(const std::string& key) const { return static_cast<int64_t>(field(key).as_index(key.c_str())); }
  bool has(const std::string& tensor) const { return tensors.count(tensor) > 0; }
  const Tensor& at(const std::string& tensor) const {
    auto it = tensors.find(tensor);
    if (it == tensors.end()) throw Error(ErrorCode::Format, concat("fixture ", name, " has no tensor ", tensor));
    return it->second;
  }
};

inline std::map<std::string, FixtureCase> load_fixtures(const std::string& file) {
  SafetensorsContents contents = read_safetensors(source_path("test/fixtures/" + file));
  std::map<std::string, FixtureCase> cases;
  for (const auto& [name, text] : contents.metadata) {
    cases[name].name = name;
    cases[name].options = json::parse(text.data(), text.size());
  }
  for (const auto& [name, tensor] : contents.tensors) {
    size_t dot = name.find('.');
    cases.at(name.substr(0, dot)).tensors[name.substr(dot + 1)] = tensor;
  }
  return cases;
}

}  // namespace dmdlk::test
