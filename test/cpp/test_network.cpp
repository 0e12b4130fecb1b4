// The whole network against the PyTorch model of docs/architecture.md
// (test/reference/gen_model.py) on tiny configurations: training logits, the
// loss, every parameter's gradient and the updated BatchNorm statistics, and
// the evaluation logits, in float32 on the CPU.
#include <random>

#include "fixtures.h"
#include "harness.h"
#include "nn/network.h"
#include "nn/parameters.h"
#include "nn/step_plan.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

constexpr double kAtol = 2e-4, kRtol = 2e-3;

void check_close(const std::string& what, const Tensor& got, const Tensor& want, double* worst_seen) {
  double c = closeness(got, want, kAtol, kRtol);
  *worst_seen = std::max(*worst_seen, c);
  if (!(c <= 1)) fail(__FILE__, __LINE__, concat(what, " off by ", c, "× the tolerance"));
}

// Returns how many gradient sums the graph made (the plan counted as many).
int64_t check_model(const char* file) {
  SafetensorsContents fixture = read_safetensors(source_path(std::string("test/fixtures/") + file));
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
  // The step's launch plan counts the additions of gradients the graph made
  // (those its ops did not make in place, into a gradient nothing else held).
  int64_t planned_sums = 0;
  for (const PlannedLaunch& l : plan_training_step(config, batch)) planned_sums += l.where == "gradient sum";
  CHECK_EQ(run.gradient_sums, planned_sums);
  size_t kept_after_backward = 0;
  for (const Tensor& v : run.values) kept_after_backward += v.defined();
  // Backward frees what it no longer needs: about the state, the inputs and the loss remain.
  CHECK(kept_after_backward <= train.state.size() + 3 && kept_after_forward > 2 * kept_after_backward);
  int grads = 0, buffers = 0;
  double largest_gradient = 0;
  for (const auto& [name, id] : train.state) {
    if (train.graph.value(id).kind == ValueKind::Parameter) {
      check_close("gradient of " + name, run.grads[size_t(id)], t.at("grad." + name), &worst);
      for (float g : run.grads[size_t(id)].to_vector<float>())
        largest_gradient = std::max(largest_gradient, double(std::fabs(g)));
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
  std::printf(
      "    %s: %zu nodes; logits, loss, %d gradients, %d running statistics and eval logits match "
      "(worst at %.3g of the tolerance; largest gradient %.3g)\n",
      file, train.graph.nodes().size(), grads, buffers, worst, largest_gradient);
  return run.gradient_sums;
}

}  // namespace

// Every value the default network reads twice is read by ops that add into
// its gradient in place: no sums left. The windowed one still has some (its
// light offsets' depthwise convolution writes its input gradient), so the
// plan's count is checked where it is not zero.
TEST(default_block_kinds_match_pytorch) { CHECK_EQ(check_model("model_tiny_default.safetensors"), int64_t(0)); }

TEST(windowed_attention_light_offsets_and_gate7_match_pytorch) {
  CHECK(check_model("model_tiny_windows.safetensors") > 0);
}

// The whole network in float64 against central finite differences: sampled
// elements of every parameter tensor, through every module (stem, MBConv with
// SE, MOAT with windowed and global attention, DMFF, DDLK with full and light
// offsets, a 7×7 gate, the head and the loss).
void gradcheck_network(ModelConfig config, uint32_t seed) {
  Network net = build_network(config, 2, NetworkMode::Train);
  std::mt19937 rng(seed);
  std::normal_distribution<double> normal;
  std::vector<Tensor> params;
  for (const TensorSpec& spec : checkpoint_layout(config)) {
    std::vector<double> v(size_t(shape_numel(spec.shape)));
    bool variance = spec.name.find("running_var") != std::string::npos;
    for (double& x : v) x = variance ? 1.0 + 0.1 * std::fabs(normal(rng)) : 0.3 * normal(rng);
    params.push_back(Tensor::from_vector(v, spec.shape));
  }
  std::vector<double> pixels(size_t(2 * 3 * config.input_size * config.input_size));
  for (double& x : pixels) x = normal(rng);
  std::vector<int32_t> labels(size_t(2 * config.input_size * config.input_size));
  for (int32_t& l : labels) l = normal(rng) > 0.3;
  Tensor images = Tensor::from_vector(pixels, {2, 3, config.input_size, config.input_size});
  Tensor masks = Tensor::from_vector(labels, {2, config.input_size, config.input_size});
  auto bind = [&] {
    Activations run;
    run.values.resize(net.graph.values().size());
    for (size_t i = 0; i < net.state.size(); ++i) run.values[size_t(net.state[i].second)] = params[i];
    run.values[size_t(net.images)] = images;
    run.values[size_t(net.masks)] = masks;
    return run;
  };
  auto loss = [&] {
    Activations run = bind();
    run_forward(net.graph, run);
    return run.values[size_t(net.loss)].to_vector<double>()[0];
  };
  Activations run = bind();
  run_forward(net.graph, run);
  run_backward(net.graph, run, net.loss);
  int checked = 0;
  for (size_t i = 0; i < net.state.size(); ++i) {
    ValueId id = net.state[i].second;
    if (net.graph.value(id).kind != ValueKind::Parameter) continue;
    const Tensor& grad = run.grads[size_t(id)];
    for (int sample = 0; sample < 2; ++sample) {
      int64_t e = int64_t(rng() % uint32_t(params[i].numel()));
      double *x = params[i].data<double>() + e, saved = *x, h = 1e-6;
      *x = saved + h;
      double up = loss();
      *x = saved - h;
      double down = loss();
      *x = saved;
      double numeric = (up - down) / (2 * h), analytic = grad.data<double>()[e];
      if (!(std::fabs(numeric - analytic) <= 1e-6 + 1e-4 * std::fabs(numeric)))
        fail(__FILE__, __LINE__,
             concat(net.state[i].first, "[", e, "]: backward ", analytic, ", finite differences ", numeric));
      ++checked;
    }
  }
  std::printf("    %d gradient elements of %zu tensors checked by finite differences in float64\n", checked,
              net.state.size());
}

TEST(whole_network_gradients_in_double) {
  ModelConfig a;  // the default block kinds with global attention
  a.input_size = 32, a.stem = 4, a.widths = {4, 8, 8, 8}, a.depths = {1, 1, 1, 1}, a.head_dim = 4;
  gradcheck_network(a, 1);
  ModelConfig b = a;  // windowed attention everywhere, light offsets, a 7×7 gate
  b.blocks = {BlockKind::MOAT, BlockKind::MOAT, BlockKind::MOAT, BlockKind::MOAT};
  b.windows = {4, 2, 0, 0}, b.offsets = OffsetKind::Light, b.select_kernel = 7;
  gradcheck_network(b, 2);
}

// A value read twice through ops that pass their gradient on (add, reshape)
// receives the same tensor twice: both count (graph.cpp adds what an op did
// not add in place into the gradient it was offered).
TEST(a_value_read_twice_through_passed_gradients_gets_both) {
  for (bool through_reshape : {false, true}) {
    Graph g;
    const Shape shape{1, 1, 2, 3};
    ValueId p = g.add_value({"p", shape, DType::F64, ValueKind::Parameter});
    ValueId q = p;
    if (through_reshape) {
      q = g.add_node({OpKind::Reshape, ReshapeAttrs{{1, 1, 3, 2}}, "", "", {p}, {}})[0];
      q = g.add_node({OpKind::Reshape, ReshapeAttrs{shape}, "", "", {q}, {}})[0];
    }
    ValueId sum = g.add_node({OpKind::Add, NoAttrs{}, "", "", {p, q}, {}})[0];
    ValueId loss = g.add_node({OpKind::GlobalAvgPool, NoAttrs{}, "", "", {sum}, {}})[0];
    Activations run;
    run.values.resize(g.values().size());
    run.values[size_t(p)] = Tensor::from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, shape);
    run_forward(g, run);
    run_backward(g, run, loss);
    // d mean(p + p) / dp = 2 / 6 everywhere.
    for (double d : run.grads[size_t(p)].to_vector<double>()) CHECK(std::fabs(d - 2.0 / 6) < 1e-12);
    CHECK_EQ(run.gradient_sums, int64_t(1));
  }
}

TEST(missing_inputs_are_named) {
  ModelConfig config;
  config.input_size = 64, config.stem = 8, config.widths = {8, 16, 16, 32}, config.depths = {1, 1, 1, 1},
  config.head_dim = 8;
  Network net = build_network(config, 1, NetworkMode::Eval);
  Activations run;
  CHECK_THROWS(run_forward(net.graph, run), ErrorCode::InvalidArg, "the graph's input 'images' is missing");
  run.values.resize(net.graph.values().size());
  run.values[size_t(net.images)] = Tensor::zeros({1, 3, 64, 64}, DType::F32);
  CHECK_THROWS(run_forward(net.graph, run), ErrorCode::InvalidArg,
               "the graph's parameter 'stem.conv1.weight' is missing");
}

int main() { return run_all(); }
