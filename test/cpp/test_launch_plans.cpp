// Every CUDA launch of the default network's training step (448², batch 4)
// and forward pass (batch 1) at each matmul precision, planned on the host
// with no GPU (nn/step_plan.h),
// held to the rules of an H200 (gpu/time_model.h): fill the GPU (at least
// 2 × 132 blocks of at least 128 threads) or be modelled under 5 µs; no thread
// reducing more than 4,096 elements serially; at most 227 KB of shared memory
// per block; a grid within CUDA's limits. The launches that break a rule today
// are counted in expected_launch_failures.txt, the GPU-speed work's list: the
// test fails on a failure the list does not hold and on a listed one that no
// longer happens, so the list only ever shrinks by fixing kernels.
#include <array>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "core/matmul_precision.h"
#include "gpu/attention.h"
#include "gpu/gemm.h"
#include "gpu/time_model.h"
#include "harness.h"
#include "nn/step_plan.h"
#include "op_cases.h"
#include "ops/op.h"
#include "source_path.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

std::string plan_str(const cuda::LaunchPlan& p) {
  return concat(p.kernel, " grid [", p.grid.x, ", ", p.grid.y, ", ", p.grid.z, "] block [", p.block.x, ", ", p.block.y,
                ", ", p.block.z, "] shared ", p.shared_bytes, " B, ", p.bytes / 1e6, " MB, ", p.flops / 1e9,
                " GFLOP, serial ", p.serial_reduction);
}

// "underfills", "serial", "shared" or "grid": the first word of a rule's
// explanation, as the list counts them.
std::string rule_kind(const std::string& explanation) {
  if (explanation.rfind("underfills", 0) == 0) return "underfills";
  if (explanation.rfind("a thread reduces", 0) == 0) return "serial";
  if (explanation.rfind("uses", 0) == 0) return "shared";
  return "grid";
}

using Counts = std::map<std::string, int>;  // "step op kernel rule" -> launches

Counts expected_failures() {
  std::ifstream in(source_path("test/cpp/expected_launch_failures.txt"));
  CHECK(in.good());
  Counts counts;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    int count = 0;
    std::string step, op, kernel, rule;
    fields >> count >> step >> op >> kernel >> rule;
    counts[concat(step, " ", op, " ", kernel, " ", rule)] += count;
  }
  return counts;
}

// The failing launches of the default network's training step and forward
// pass at every matmul precision (fp32 on the CUDA cores, TF32 and BF16 on
// the tensor cores: their tiles and splits differ), counted as the list
// counts them; with `print`, each one in full.
Counts failures(bool print) {
  struct RestoreDefault {
    ~RestoreDefault() { set_matmul_precision(MatmulPrecision::High); }
  } restore;
  Counts found;
  for (MatmulPrecision precision : {MatmulPrecision::Highest, MatmulPrecision::High, MatmulPrecision::Medium}) {
    set_matmul_precision(precision);
    std::string name = matmul_precision_name(precision);
    for (const auto& [task, launches] : {std::pair{std::string("train"), plan_training_step(ModelConfig(), 4)},
                                         {std::string("forward"), plan_inference(ModelConfig(), 1)}}) {
      std::string step = concat(task, "/", name);
      std::vector<cuda::LaunchPlan> plans;
      for (const PlannedLaunch& l : launches) {
        plans.push_back(l.plan);
        for (const std::string& broken : cuda::broken_rules(l.plan)) {
          found[concat(step, " ", l.op, " ", l.plan.kernel, " ", rule_kind(broken))]++;
          if (print)
            std::printf("    %s: %s on %s\n      %s\n      %s\n", step.c_str(), l.where.c_str(), l.shapes.c_str(),
                        plan_str(l.plan).c_str(), broken.c_str());
        }
      }
      if (print)
        std::printf("  %s: %zu launches, modelled %.2f ms on an H200 without CUDA graphs\n", step.c_str(),
                    launches.size(), cuda::model_sequence(plans) * 1e3);
    }
  }
  return found;
}

}  // namespace

TEST(every_op_kind_has_a_complete_definition) {
  std::map<std::string, int> names;
  for (int k = 0; k < int(OpKind::Count); ++k) {
    const OpDef& d = op_def(OpKind(k));
    CHECK_EQ(int(d.kind), k);
    CHECK(d.name != nullptr && std::string(d.name).size() > 0);
    CHECK(d.infer_shape && d.forward && d.backward && d.cost && d.cuda_launches);
    if (d.name) names[d.name]++;
  }
  for (const auto& [name, count] : names) CHECK_EQ(count, 1);
}

// Every op kind and attribute value has CUDA kernels: a case of it plans
// launches forward and backward (test_gpu_parity checks on a GPU that the
// launches made are the ones planned). Views launch nothing, by design.
TEST(every_op_and_attribute_value_plans_its_cuda_launches) {
  const std::set<OpKind> launches_nothing{OpKind::Reshape};  // a view of its input's storage
  for (const std::string& what : uncovered([&](const OpCase& c) {
         if (launches_nothing.count(c.op->kind)) return true;
         std::vector<Shape> in = shapes_of(c.inputs);
         return !c.op->cuda_launches(in, DType::F32, c.attrs, Pass::Forward, {}).empty() &&
                !c.op->cuda_launches(in, DType::F32, c.attrs, Pass::Backward, {}).empty();
       }))
    fail(__FILE__, __LINE__, concat(what, " plans no CUDA launches for a case of test/op_cases.json"));
}

TEST(default_network_launches_fill_an_h200_or_are_listed) {
  Counts found = failures(true);
  Counts expected = expected_failures();
  int total = 0;
  for (const auto& [key, count] : found) total += count;
  std::printf("  %d launches break a rule (%zu kinds)\n", total, found.size());
  for (const auto& [key, count] : found) {
    int listed = expected.count(key) ? expected.at(key) : 0;
    if (count != listed)
      fail(__FILE__, __LINE__, concat(key, ": ", count, " launches break the rule, the list says ", listed));
  }
  for (const auto& [key, count] : expected)
    if (!found.count(key))
      fail(__FILE__, __LINE__, concat(key, ": listed ", count, " times but no launch breaks it now"));
}

TEST(attention_launches_are_planned_from_the_tiling_they_run) {
  // A float model on a GPU without tensor cores, or a float64 one, tiles its
  // products otherwise than an H200's tensor cores would; attention.cu
  // launches the softmax with plans[1], which must be the softmax's plan
  // whatever the tiling, and each product's plan must be its own tiling's.
  std::vector<AttentionShape> shapes;
  for (auto [windows, tokens, channels, heads, side] : std::vector<std::array<int64_t, 5>>{{4 * 64, 49, 64, 2, 7},
                                                                                           {4, 784, 128, 4, 28},
                                                                                           {4, 196, 256, 8, 14},
                                                                                           {1, 64, 2048, 1, 8},
                                                                                           {2, 784, 128, 4, 28},
                                                                                           {2, 64, 1024, 2, 8}}) {
    AttentionShape s;
    s.windows = windows, s.tokens = tokens, s.channels = channels, s.heads = heads, s.window_h = s.window_w = side;
    shapes.push_back(s);
  }
  int split_scores = 0;
  for (const AttentionShape& s : shapes)
    for (int64_t bytes : {4, 8})
      for (MatmulPrecision precision : {MatmulPrecision::Highest, MatmulPrecision::High, MatmulPrecision::Medium})
        for (bool tensor_cores : {false, true}) {
          cuda_ops::AttentionProducts p = cuda_ops::attention_products(s, bytes, precision, tensor_cores);
          std::vector<cuda::LaunchPlan> plans = cuda_ops::plan_attention_forward(s, bytes, p);
          CHECK_EQ(plans.size(), size_t(3));
          CHECK_EQ(plans[1].kernel, std::string("attention_softmax"));
          // Each product's plan is the launch its tiling makes: grid, block and shared memory.
          auto check_product = [](const cuda::LaunchPlan& plan, const cuda_ops::GemmDims& d,
                                  const cuda_ops::GemmTiling& t, int64_t element_bytes) {
            CHECK_EQ(plan.grid.x, cuda_ops::ceil_div(d.n, t.bn));
            CHECK_EQ(plan.grid.y, cuda_ops::ceil_div(d.m, t.bm));
            CHECK_EQ(plan.grid.z, d.batch * d.splits);
            CHECK_EQ(plan.block.x, t.threads);
            CHECK_EQ(plan.shared_bytes, cuda_ops::gemm_shared_bytes(t, element_bytes));
          };
          check_product(plans[0], p.scores, p.scores_tiles, bytes);
          check_product(plans[2], p.values, p.values_tiles, bytes);
          // The backward: the delta rows first, the bias gradient last (attention.cu launches
          // plans[0] and plans.back()), and its five products on their own tilings.
          std::vector<cuda::LaunchPlan> backward = cuda_ops::plan_attention_backward(s, bytes, p);
          CHECK_EQ(backward.size(), size_t(7));
          CHECK_EQ(backward[0].kernel, std::string("attention_delta"));
          CHECK_EQ(backward.back().kernel, std::string("attention_bias_grad"));
          check_product(backward[1], p.scores, p.scores_tiles, bytes);
          check_product(backward[2], p.keys_grad, p.keys_grad_tiles, bytes);
          check_product(backward[3], p.scores, p.scores_tiles, bytes);
          check_product(backward[4], p.values, p.values_tiles, bytes);
          check_product(backward[5], p.keys_grad, p.keys_grad_tiles, bytes);
          // attention.cu instantiates the score products' kernels for these tiles only.
          CHECK(cuda_ops::tile_allowed(cuda_ops::kAttentionScoreTiles, p.scores_tiles.kernel));
          split_scores += p.scores.splits > 1;
          // The GPU parity suite's shapes (test_gpu_parity, attention on tensor cores) split
          // what it says they split: the score product of 8×8 windows of 512-channel heads,
          // the value product of the 28×28 global attention.
          if (bytes == 4 && tensor_cores && precision != MatmulPrecision::Highest && s.windows == 2) {
            if (s.tokens == 64) CHECK(p.scores.splits > 1);
            if (s.tokens == 784) CHECK(p.values.splits > 1 && p.scores.splits == 1);
          }
        }
  CHECK(split_scores > 0);  // the case the index arithmetic is for
}

TEST(every_gemm_launch_has_its_issue_counted) {
  // The time model's issue bound of a tiled GEMM comes from the PTX counts of
  // gemm_issue_table.h: a product whose kernel, unit or operands the table
  // lacks would be modelled as free of index work.
  int gemms = 0;
  const MatmulPrecision before = matmul_precision();
  for (MatmulPrecision precision : {MatmulPrecision::Highest, MatmulPrecision::High, MatmulPrecision::Medium}) {
    set_matmul_precision(precision);
    for (const auto& launches : {plan_training_step(ModelConfig(), 4), plan_inference(ModelConfig(), 1)})
      for (const PlannedLaunch& l : launches)
        if (l.plan.kernel.find("_wmma_") != std::string::npos || l.plan.kernel.find("_simt_") != std::string::npos) {
          ++gemms;
          if (l.plan.issue_slots <= 0)
            fail(__FILE__, __LINE__, concat(l.op, ": ", l.plan.kernel, " has no issue count"));
          if (l.plan.dependent_loads < 2)
            fail(__FILE__, __LINE__, concat(l.op, ": ", l.plan.kernel, " has no chain of slices to wait for"));
        }
  }
  set_matmul_precision(before);
  CHECK(gemms > 1000);
}

TEST(a_gemm_block_waits_a_memory_latency_per_slice) {
  // The latency bound: each K slice of a block is fetched one slice ahead, so
  // a wave of blocks takes at least a memory latency per slice, plus the
  // first fetch. A deep, narrow product (one 32×32 tile, K of 64 slices)
  // is bound by it; split four ways its chain is a quarter as long.
  using namespace cuda_ops;
  const cuda::GpuSpec gpu;
  GemmTiling t = tiling_of(GemmKernel::WmmaTiny, cuda::MathUnit::Tf32);
  t.k_per_split = 64 * t.bk;
  GemmDims d{32, 32, 64 * t.bk, 1, 1, t.k_per_split};
  cuda::LaunchPlan whole = plan_tiled_gemm("gemm", d, t, 1e5, 4);
  CHECK_EQ(whole.dependent_loads, int64_t(65));
  cuda::LaunchTime w = cuda::model_launch(whole, gpu);
  CHECK(std::abs(w.latency_seconds - 65 * gpu.memory_latency_seconds) < 1e-12);
  CHECK_EQ(std::string(w.bound()), std::string("latency"));
  t.k_per_split = 16 * t.bk;
  d.splits = 4, d.k_per_split = t.k_per_split;
  cuda::LaunchPlan split = plan_tiled_gemm("gemm", d, t, 1e5, 4);
  CHECK_EQ(split.dependent_loads, int64_t(17));
  CHECK(cuda::model_launch(split, gpu).latency_seconds < w.latency_seconds / 3);
  // A short product with many blocks waits its few slices once per wave: an
  // SM's resident blocks wait side by side.
  GemmDims wide{32, 32 * 132 * 64, 2 * t.bk, 1, 1, 2 * t.bk};
  t.k_per_split = 2 * t.bk;
  cuda::LaunchTime many = cuda::model_launch(plan_tiled_gemm("gemm", wide, t, 1e5, 4), gpu);
  CHECK(many.latency_seconds < 64 * 3 * gpu.memory_latency_seconds);
  CHECK(many.latency_seconds >= 3 * gpu.memory_latency_seconds);
}

TEST(the_stem_computes_no_gradient_of_the_images) {
  // The first convolution reads the data batch: its backward plans a weight
  // gradient but no input gradient; the second convolution plans both.
  std::map<std::string, int> input_grads, weight_grads;
  for (const PlannedLaunch& l : plan_training_step(ModelConfig(), 4)) {
    input_grads[l.where] += l.plan.kernel.rfind("conv_input_grad", 0) == 0;
    weight_grads[l.where] += l.plan.kernel.rfind("conv_weight_grad", 0) == 0;
  }
  CHECK_EQ(input_grads["conv2d stem.conv1 backward"], 0);
  CHECK_EQ(weight_grads["conv2d stem.conv1 backward"], 1);
  CHECK_EQ(input_grads["conv2d stem.conv2 backward"], 1);
  CHECK_EQ(weight_grads["conv2d stem.conv2 backward"], 1);
}

// `test_launch_plans --list` prints the failures in the list's format (to
// rewrite it after a kernel is fixed; a reviewer sees what left the list).
int main(int argc, char** argv) {
  if (argc > 1 && std::string(argv[1]) == "--list") {
    std::printf(
        "# count  step  op  kernel  rule — launches of the default network (448², training batch 4, forward\n"
        "# batch 1) that break a rule of test_launch_plans today: the GPU-speed work's list.\n");
    for (const auto& [key, count] : failures(false)) std::printf("%d %s\n", count, key.c_str());
    return 0;
  }
  return run_all();
}
