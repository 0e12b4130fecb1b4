// The whole network against the PyTorch model of architecture.md
// (test/reference/gen_model.py) on tiny configurations: training logits, the
// loss, every parameter's gradient and the updated BatchNorm statistics, and
// the evaluation logits, in float32 on the CPU.
#include "fixtures.h"
#include "harness.h"
#include "nn/network.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

constexpr double kAtol = 2e-4, kRtol = 2e-3;

void check_close(const std::string& what, const Tensor& got, const Tensor& want, double* worst_seen) {
  double c = closeness(got, want, kAtol, kRtol);
  *worst_seen = std::max(*worst_seen, c);
  if (!(c <= 1)) fail(__FILE__, __LINE__, concat(what, " off by ", c, "× the tolerance"));
}

void check_model(const char* file) {
  SafetensorsContents fixture = read_safetensors(std::string(DMDLK_FIXTURE_DIR) + "/" + file);
  std::map<std::string, Tensor> t(fixture.tensors.begin(), fixture.tensors.end());
  ModelConfig config = config_from_json(fixture.metadata.at("config"));
  int64_t batch = t.at("images").dim(0);
  double worst = 0;

  Network train = build_network(config, batch, NetworkMode::Train);
  Activations run;
  run.values.resize(train.graph.values().size());
  for (const auto& [name, id] : train.state) run.values[size_t(id)] = t.at("param." + name).clone();
  run.values[size_t(train.images)] = t.at("images");
  run.values[size_t(train.masks)] = t.at("masks");
  run_forward(train.graph, run);
  check_close("training logits", run.values[size_t(train.logits)], t.at("train_logits"), &worst);
  size_t kept_after_forward = 0;
  for (const Tensor& v : run.values) kept_after_forward += v.defined();
  check_close("loss", run.values[size_t(train.loss)], t.at("loss"), &worst);
  run_backward(train.graph, run, train.loss);
  size_t kept_after_backward = 0;
  for (const Tensor& v : run.values) kept_after_backward += v.defined();
  // Backward frees what it no longer needs: about the state, the inputs and the loss remain.
  CHECK(kept_after_backward <= train.state.size() + 3 && kept_after_forward > 2 * kept_after_backward);
  int grads = 0, buffers = 0;
  double largest_gradient = 0;
  for (const auto& [name, id] : train.state) {
    if (train.graph.value(id).kind == ValueKind::Parameter) {
      check_close("gradient of " + name, run.grads[size_t(id)], t.at("grad." + name), &worst);
      for (float g : run.grads[size_t(id)].to_vector<float>()) largest_gradient = std::max(largest_gradient, double(std::fabs(g)));
      ++grads;
    } else {
      check_close("updated " + name, run.values[size_t(id)], t.at("after." + name), &worst);
      ++buffers;
    }
  }

  CHECK(largest_gradient > 1e-3);  // the comparison is not between zeros

  Network eval = build_network(config, batch, NetworkMode::Eval);
  Activations inference;
  inference.values.resize(eval.graph.values().size());
  for (const auto& [name, id] : eval.state) inference.values[size_t(id)] = t.at("param." + name).clone();
  inference.values[size_t(eval.images)] = t.at("images");
  run_forward(eval.graph, inference, {eval.logits});
  size_t computed_kept = 0;
  for (size_t i = 0; i < inference.values.size(); ++i)
    computed_kept += inference.values[i].defined() && eval.graph.value(ValueId(i)).kind == ValueKind::Computed;
  CHECK_EQ(computed_kept, size_t(1));  // inference keeps only the logits
  check_close("evaluation logits", inference.values[size_t(eval.logits)], t.at("eval_logits"), &worst);
  std::printf("    %s: %zu nodes; logits, loss, %d gradients, %d running statistics and eval logits match "
              "(worst at %.3g of the tolerance; largest gradient %.3g)\n", file, train.graph.nodes().size(), grads, buffers,
              worst, largest_gradient);
}

}  // namespace

TEST(default_block_kinds_match_pytorch) { check_model("model_tiny_default.safetensors"); }

TEST(windowed_attention_light_offsets_and_gate7_match_pytorch) { check_model("model_tiny_windows.safetensors"); }

TEST(missing_inputs_are_named) {
  ModelConfig config;
  config.input_size = 64, config.stem = 8, config.widths = {8, 16, 16, 32}, config.depths = {1, 1, 1, 1}, config.head_dim = 8;
  Network net = build_network(config, 1, NetworkMode::Eval);
  Activations run;
  CHECK_THROWS(run_forward(net.graph, run), ErrorCode::InvalidArg, "'stem.conv1.weight' is missing");
}

int main() { return run_all(); }
