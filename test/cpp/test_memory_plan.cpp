// The memory planner: plan_memory's packing, and StepMemory serving whole
// training and inference steps from one arena — with results identical to
// steps without a plan, nothing taken from an allocator once planned, and
// buffers that escape a step never overwritten.
#include <cstdlib>
#include <random>

#include "core/host_allocator.h"
#include "core/platform.h"
#include "gradcheck.h"
#include "harness.h"
#include "memory/memory_plan.h"
#include "memory/step_memory.h"
#include "nn/model.h"
#include "nn/trainer.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

// Every pair alive at the same time must lie in disjoint bytes.
bool disjoint(const std::vector<BufferLifetime>& b, const MemoryPlan& p, size_t alignment) {
  for (size_t i = 0; i < b.size(); ++i)
    for (size_t j = i + 1; j < b.size(); ++j) {
      if (p.offsets[i] < 0 || p.offsets[j] < 0) continue;
      bool together = b[i].begin < b[j].end && b[j].begin < b[i].end;
      int64_t si = int64_t((b[i].bytes + alignment - 1) / alignment * alignment),
              sj = int64_t((b[j].bytes + alignment - 1) / alignment * alignment);
      bool share = p.offsets[i] < p.offsets[j] + sj && p.offsets[j] < p.offsets[i] + si;
      if (together && share) return false;
    }
  return true;
}

ModelConfig tiny() {
  ModelConfig c;
  c.input_size = 32, c.stem = 8, c.widths = {8, 16, 16, 32}, c.depths = {1, 1, 1, 1}, c.head_dim = 8;
  return c;
}

std::pair<Tensor, Tensor> batch(std::mt19937& rng, int64_t b) {
  Tensor images = random_tensor({b, 3, 32, 32}, rng, 1.0, DType::F32);
  std::vector<int32_t> labels(size_t(b * 32 * 32));
  for (auto& l : labels) l = int32_t(rng() % 2);
  return {images, Tensor::from_vector(labels, {b, 32, 32})};
}

std::vector<float> flat(const NamedTensors& tensors) {
  std::vector<float> out;
  for (const auto& [name, t] : tensors) {
    std::vector<float> v = t.to_vector<float>();
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

}  // namespace

TEST(plans_never_overlap_live_buffers) {
  std::mt19937 rng(1);
  for (int trial = 0; trial < 20; ++trial) {
    std::vector<BufferLifetime> b;
    for (int i = 0; i < 200; ++i) {
      int64_t begin = int64_t(rng() % 300), life = 1 + int64_t(rng() % 40);
      b.push_back({size_t(1 + rng() % 100000), begin, rng() % 25 == 0 ? kOutlivesStep : begin + life});
    }
    MemoryPlan p = plan_memory(b, 64);
    CHECK(disjoint(b, p, 64));
    CHECK(p.arena_bytes >= p.peak_live_bytes);
    for (size_t i = 0; i < b.size(); ++i) CHECK_EQ(p.offsets[i] < 0, b[i].end == kOutlivesStep);
  }
  // A chain where each buffer dies as the next-but-one is made needs two slots, not n.
  std::vector<BufferLifetime> chain;
  for (int i = 0; i < 100; ++i) chain.push_back({4096, i, i + 2});
  MemoryPlan p = plan_memory(chain, 64);
  CHECK_EQ(p.arena_bytes, size_t(2 * 4096));
  CHECK_EQ(p.peak_live_bytes, size_t(2 * 4096));
}

TEST(planned_training_steps_match_unplanned_ones_exactly) {
  std::mt19937 rng(2);
  std::vector<std::pair<Tensor, Tensor>> batches;
  for (int i = 0; i < 4; ++i) batches.push_back(batch(rng, 2));
  auto train = [&](bool plan, StepMemory::Stats* stats) {
    platform::set_environment("DMDLK_MEMORY_PLAN", plan ? "1" : "0");
    std::unique_ptr<Model> m = Model::create(tiny(), Device::cpu(), 3);
    AdamOptions o;
    o.lr = 1e-3;
    AdamTrainer t(*m, o);
    std::vector<double> losses;
    for (auto& [x, y] : batches) losses.push_back(t.step(x, y));
    if (stats) *stats = m->step_memory(2, NetworkMode::Train).stats();
    platform::set_environment("DMDLK_MEMORY_PLAN", nullptr);
    return std::make_pair(losses, flat(m->state()));
  };
  StepMemory::Stats s;
  auto planned = train(true, &s), unplanned = train(false, nullptr);
  CHECK(planned.first == unplanned.first);
  CHECK(planned.second == unplanned.second);
  std::printf(
      "    training step: %lld buffers, %.2f MB without reuse, arena %.2f MB, peak live %.2f MB; "
      "last step: %lld from the arena, %lld fallbacks\n",
      (long long)s.buffers, s.total_bytes / 1e6, s.arena_bytes / 1e6, s.peak_live_bytes / 1e6, (long long)s.served,
      (long long)s.fallbacks);
  CHECK_EQ(s.recorded_steps, int64_t(1));
  CHECK_EQ(s.planned_steps, int64_t(3));
  CHECK_EQ(s.fallbacks, int64_t(0));
  CHECK(s.served > s.buffers / 2);           // all but what outlives the step
  CHECK(s.arena_bytes * 2 < s.total_bytes);  // reuse (2.98× on this tiny network, gradients summed in place)
  CHECK(s.arena_bytes <= s.peak_live_bytes * 5 / 4);
}

// Tensors come from the arena; kernel scratch (GEMM partial sums) from the
// host cache, which a warm process serves without system allocations.
TEST(a_planned_step_takes_nothing_from_the_allocators) {
#ifdef __SANITIZE_ADDRESS__
  std::printf("    skipped: AddressSanitizer builds turn the host cache off\n");
  return;
#endif
  std::mt19937 rng(4);
  std::unique_ptr<Model> m = Model::create(tiny(), Device::cpu(), 3);
  AdamTrainer t(*m, AdamOptions{});
  auto [x, y] = batch(rng, 2);
  for (int i = 0; i < 3; ++i) t.step(x, y);
  HostAllocatorStats before = host_allocator_stats();
  t.step(x, y);
  StepMemory::Stats s = m->step_memory(2, NetworkMode::Train).stats();
  CHECK_EQ(host_allocator_stats().system_allocations, before.system_allocations);
  // What the allocator still serves in a planned step: what outlives it (BatchNorm's new running statistics).
  CHECK(s.buffers - s.served < 40);
}

TEST(buffers_that_escape_a_step_are_never_overwritten) {
  std::mt19937 rng(5);
  std::unique_ptr<Model> m = Model::create(tiny(), Device::cpu(), 3);
  auto [x1, y1] = batch(rng, 2);
  auto [x2, y2] = batch(rng, 2);
  m->loss_and_gradients(x1, y1);                                  // recorded
  Model::LossAndGradients first = m->loss_and_gradients(x1, y1);  // planned
  std::vector<float> kept = flat(first.gradients), logits = first.logits.to_vector<float>();
  Model::LossAndGradients second = m->loss_and_gradients(x2, y2);
  CHECK(flat(first.gradients) == kept);
  CHECK(first.logits.to_vector<float>() == logits);
  CHECK(flat(second.gradients) != kept);
  // Inference: the logits handed back survive the next forward.
  Tensor a = m->forward(x1);
  Tensor b = m->forward(x1);
  std::vector<float> av = a.to_vector<float>();
  Tensor c = m->forward(x2);
  CHECK(a.to_vector<float>() == av);
  CHECK(b.to_vector<float>() == av);
  CHECK(c.to_vector<float>() != av);
  StepMemory::Stats s = m->step_memory(2, NetworkMode::Eval).stats();
  CHECK_EQ(s.planned_steps, int64_t(2));
  std::printf("    inference: arena %.2f MB for %lld buffers (%.2f MB without reuse)\n", s.arena_bytes / 1e6,
              (long long)s.buffers, s.total_bytes / 1e6);
}

// A step pinned for a CUDA graph (nn/step_graph.h; the capture itself is
// test_gpu_parity's): what escapes it comes from blocks that stay allocated
// while the hold lives, even once the tensors die, and only a planned step
// can be pinned. On the CPU, models never capture.
TEST(a_pinned_step_keeps_its_buffers_until_its_graph_goes) {
  StepMemory memory(Device::cpu());
  auto step = [&] {
    StepMemory::Scope scope(&memory);
    Tensor scratch = Tensor::zeros({1000}, DType::F32);
    return Tensor::zeros({100}, DType::F32);  // escapes the step
  };
  StepMemory unplanned(Device::cpu());
  unplanned.pin_next_step();
  CHECK_THROWS(StepMemory::Scope(&unplanned), ErrorCode::Internal, "only once it is planned");
  step(), step();  // recorded, then planned
  CHECK(memory.planned());
  std::shared_ptr<void> hold = memory.pin_next_step();
  Tensor escaped = step();
  void* block = escaped.raw();
  escaped = Tensor();
  std::vector<Tensor> others;  // the host cache would hand a freed block of that size straight back
  for (int i = 0; i < 8; ++i) others.push_back(Tensor::zeros({100}, DType::F32));
  for (const Tensor& t : others) CHECK(t.raw() != block);
  CHECK_EQ(memory.stats().served, int64_t(1));  // the scratch, from the arena
  hold.reset();

  std::mt19937 rng(6);
  std::unique_ptr<Model> m = Model::create(tiny(), Device::cpu(), 3);
  AdamTrainer t(*m, AdamOptions{});
  auto [x, y] = batch(rng, 2);
  for (int i = 0; i < 4; ++i) t.step(x, y), m->forward(x);
  CHECK_EQ(m->graph_stats().captures + m->graph_stats().replays + m->graph_stats().failures, int64_t(0));
}

int main() { return run_all(); }
