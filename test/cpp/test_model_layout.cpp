// The model's configuration and checkpoint layout against the contract:
// default-state.tsv (copied from shared/design) and the tensors of the
// PyTorch reference model's fixtures for other configurations.
#include <cmath>
#include <fstream>
#include <sstream>

#include "fixtures.h"
#include "harness.h"
#include "nn/config_schema.h"
#include "nn/parameters.h"
#include "nn/summary.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

std::string shape_text(const Shape& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) out += (i ? "x" : "") + std::to_string(s[i]);
  return out;
}

}  // namespace

TEST(default_layout_is_the_contract) {
  std::ifstream tsv(source_path("test/fixtures/default-state.tsv"));
  CHECK(tsv.good());
  std::vector<TensorSpec> specs = checkpoint_layout(ModelConfig{});
  size_t i = 0;
  for (std::string line; std::getline(tsv, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    std::string name, shape, kind;
    std::getline(fields, name, '\t');
    std::getline(fields, shape, '\t');
    std::getline(fields, kind, '\t');
    if (i >= specs.size()) {
      fail(__FILE__, __LINE__, concat("missing ", name));
      break;
    }
    const TensorSpec& s = specs[i++];
    if (s.name != name || shape_text(s.shape) != shape || (s.kind == TensorKind::Buffer) != (kind == "buffer"))
      fail(__FILE__, __LINE__,
           concat("tensor ", i - 1, ": ", s.name, " ", shape_text(s.shape), " vs ", name, " ", shape));
  }
  CHECK_EQ(i, specs.size());
  CHECK_EQ(parameter_count(ModelConfig{}), int64_t(5385150));
}

TEST(other_configurations_match_the_reference_model) {
  for (const char* file : {"model_tiny_default.safetensors", "model_tiny_windows.safetensors"}) {
    SafetensorsContents contents = read_safetensors(source_path(std::string("test/fixtures/") + file));
    ModelConfig config = config_from_json(contents.metadata.at("config"));
    std::vector<TensorSpec> specs = checkpoint_layout(config);
    size_t i = 0;
    for (const auto& [name, tensor] : contents.tensors) {
      if (name.rfind("param.", 0) != 0) continue;
      if (i >= specs.size() || specs[i].name != name.substr(6) || specs[i].shape != tensor.shape())
        fail(__FILE__, __LINE__,
             concat(file, ": tensor ", i, " is ", name, " ", shape_str(tensor.shape()), ", we have ",
                    i < specs.size() ? specs[i].name + " " + shape_str(specs[i].shape) : "nothing"));
      ++i;
    }
    CHECK_EQ(i, specs.size());
    std::printf("    %s: %zu tensors, %lld parameters\n", file, specs.size(), (long long)parameter_count(config));
  }
}

TEST(config_round_trips_through_json) {
  ModelConfig c;
  c.widths = {16, 32, 64, 64};
  c.blocks = {BlockKind::MOAT, BlockKind::MBConv, BlockKind::MOAT, BlockKind::MOAT};
  c.windows = {7, 0, 0, 0};
  c.offsets = OffsetKind::Light;
  c.select_kernel = 7;
  c.se_ratio = 0.125;
  c.head_dim = 16;
  c.input_size = 224;
  ModelConfig back = config_from_json(config_to_json(c));
  CHECK_EQ(config_to_json(back), config_to_json(c));
  CHECK(config_from_json("{}").input_size == 448);
}

TEST(bad_configurations_name_the_field) {
  CHECK_THROWS(config_from_json("{\"inputSize\": 100}"), ErrorCode::InvalidArg,
               "config.inputSize must be a multiple of 32 in [32, 4096], got 100");
  CHECK_THROWS(config_from_json("{\"inputSize\": 96, \"blocks\": [\"moat\",\"mbconv\",\"moat\",\"moat\"]}"),
               ErrorCode::InvalidArg,
               "config.windows[0] must be a divisor of that stage's side, inputSize / 4 = 24, got 14");
  CHECK_THROWS(config_from_json("{\"widths\": [32, 64, 100, 256]}"), ErrorCode::InvalidArg,
               "config.widths[2] must be a multiple of headDim (32) in a moat stage, got 100");
  CHECK_THROWS(config_from_json("{\"offsets\": \"heavy\"}"), ErrorCode::InvalidArg,
               "config.offsets must be 'full' or 'light', got 'heavy'");
  CHECK_THROWS(config_from_json("{\"selectKernel\": 4}"), ErrorCode::InvalidArg,
               "config.selectKernel must be an odd integer");
  CHECK_THROWS(config_from_json("{\"depths\": [2, 3, 0, 2]}"), ErrorCode::InvalidArg,
               "config.depths[2] must be an integer in [1, 64], got 0");
  CHECK_THROWS(config_from_json("{\"blocks\": [\"mbconv\", \"mbconv\", \"moat\"]}"), ErrorCode::InvalidArg,
               "config.blocks must be an array of 4");
  CHECK_THROWS(config_from_json("{\"widht\": 3}"), ErrorCode::InvalidArg,
               "unknown option 'widht' (known: inChannels, numClasses");
  CHECK_THROWS(config_from_json("{\"numClasses\": 1.5}"), ErrorCode::InvalidArg,
               "config.numClasses must be an integer in [2, 16], got 1.5");
  CHECK_THROWS(config_from_json("[1]"), ErrorCode::InvalidArg, "config must be a JSON object");
}

// docs/architecture.md: about 19.3 GMAC per 448² image, 72% of it in DDLK's offset
// convolutions; offsets: light gives about 3.9 M parameters and 5.8 GMAC.
TEST(summary_matches_the_architecture_figures) {
  int64_t params = 0, macs = 0, offset = 0;
  for (const ModuleCost& m : summarize(ModelConfig{})) params += m.parameters, macs += m.macs, offset += m.offset_macs;
  std::printf("    default: %lld parameters, %.2f GMAC, %.1f%% in offset convolutions\n", (long long)params, macs / 1e9,
              100.0 * offset / macs);
  CHECK_EQ(params, int64_t(5385150));
  CHECK(std::fabs(macs / 1e9 - 19.3) < 0.3);
  CHECK(std::fabs(100.0 * offset / macs - 72) < 1.5);
  ModelConfig light;
  light.offsets = OffsetKind::Light;
  params = macs = 0;
  for (const ModuleCost& m : summarize(light)) params += m.parameters, macs += m.macs;
  std::printf("    offsets light: %lld parameters, %.2f GMAC\n", (long long)params, macs / 1e9);
  CHECK(std::fabs(params / 1e6 - 3.9) < 0.1);
  CHECK(std::fabs(macs / 1e9 - 5.8) < 0.2);
}

// Each field's rule in words (what both checks print) says the numbers and
// names its check uses (nn/config_schema.cpp), so the two cannot drift apart.
TEST(every_configuration_rule_says_its_numbers) {
  for (const ConfigField& f : config_fields()) {
    std::string rule = f.rule;
    auto says = [&](const std::string& part) {
      if (rule.find(part) == std::string::npos)
        fail(__FILE__, __LINE__, concat(f.name, ": its rule '", rule, "' does not say ", part));
    };
    std::visit(
        [&](auto member) {
          using V = std::decay_t<decltype(ModelConfig().*member)>;
          if constexpr (std::is_same_v<V, int64_t> || std::is_same_v<V, std::array<int64_t, 4>>) {
            says(concat(int64_t(f.max), "]"));
            if (f.multiple_of > 1) says(concat("multiple of ", f.multiple_of));
            if (f.odd) says("odd");
          } else if constexpr (std::is_same_v<V, double>) {
            says(concat("(", f.min, ", ", f.max, "]"));
          } else if constexpr (std::is_same_v<V, OffsetKind>) {
            for (const auto& e : kOffsetNames) says(concat("'", e.name, "'"));
          } else {
            for (const auto& e : kBlockNames) says(concat("'", e.name, "'"));
          }
        },
        f.member);
  }
}

int main() { return run_all(); }
