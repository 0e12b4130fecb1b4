// Times a DMDLK-Net checkpoint (its config's input size): forward (evaluation,
// batch 1) or a training step (forward, backward, Adam; batch 4), or another
// batch, after one warm-up run, and prints {"task", "batch", "seconds"
// (the fastest timed run), "images_per_second", "peak_rss_mb", "steady_rss_mb", "arena_mb"
// (the step's planned arena), "gpu_mb" (GPU memory held by the caching
// allocator at the end; 0 on the CPU)}; then a profiled run's seconds per op
// kind on stderr.
//   bench_model forward|train <checkpoint.safetensors> [runs] [device] [batch]
// With --plan-only it needs no checkpoint and no GPU: the default network's
// CUDA launches for the task (nn/step_plan.h) and what the GPU time model
// (gpu/time_model.h) predicts for them on an H200, per op kind and in all,
// at the matmul precision of DMDLK_MATMUL_PRECISION (default high):
//   bench_model --plan-only forward|train [batch] [input size]
// bench/model.sh runs it beside bench/model_torch.py with the same weights;
// bench/scaling.sh over batch and input sizes.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <random>
#include <string>

#include "core/cuda_runtime.h"
#include "core/host_allocator.h"
#include "core/matmul_precision.h"
#include "gpu/time_model.h"
#include "nn/model.h"
#include "nn/step_plan.h"
#include "nn/trainer.h"

using namespace dmdlk;

namespace {

int run(int argc, char** argv) {
  std::string task = argv[1];
  int runs = argc > 3 ? std::atoi(argv[3]) : 3;
  Device device = parse_device(argc > 4 ? argv[4] : "cpu");
  std::unique_ptr<Model> model = Model::load(argv[2], device);
  int64_t batch = argc > 5 ? std::atoll(argv[5]) : task == "train" ? 4 : 1, side = model->config().input_size;
  if (batch < 1) {
    std::fprintf(stderr, "bench_model: batch must be a positive integer, got %s\n", argv[5]);
    return 2;
  }
  std::mt19937 rng(1);
  std::normal_distribution<float> normal;
  std::vector<float> pixels(size_t(batch * 3 * side * side));
  for (float& p : pixels) p = normal(rng);
  std::vector<int32_t> labels(size_t(batch * side * side));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t(pixels[i] > 0.5f);
  Tensor images = Tensor::from_vector(pixels, {batch, 3, side, side}).to(device);
  Tensor masks = Tensor::from_vector(labels, {batch, side, side}).to(device);

  AdamTrainer trainer(*model, AdamOptions{});
  auto once = [&] {
    if (task == "forward") model->forward(images).to(Device::cpu());  // waits for the GPU
    else trainer.step(images, masks);                                 // reads the loss: waits too
  };
  once();  // builds the graph, records the step for the memory planner
  // From here on the steps are planned: give the allocator's cache of the
  // recorded step back and restart the kernel's peak-RSS count (VmHWM), so
  // the steady peak is that of planned steps.
  release_host_cache();
  if (FILE* f = std::fopen("/proc/self/clear_refs", "w")) std::fputs("5", f), std::fclose(f);
  once();  // the first planned step, which first touches the arena's pages (1-2 s more for a training step here)
  std::vector<double> seconds;
  for (int r = 0; r < runs; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    once();
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  // One more run, profiled: where the time goes, per op kind (to stderr).
  OpProfile profile;
  model->set_profile(&profile);
  auto tp = std::chrono::steady_clock::now();
  once();
  double profiled = std::chrono::duration<double>(std::chrono::steady_clock::now() - tp).count();
  model->set_profile(nullptr);
  std::vector<std::pair<double, OpKind>> rows;
  for (const auto& [op, s] : profile.forward_seconds) rows.emplace_back(s + profile.backward_seconds[op], op);
  for (const auto& [op, s] : profile.backward_seconds)
    if (!profile.forward_seconds.count(op)) rows.emplace_back(s, op);
  std::sort(rows.rbegin(), rows.rend());
  std::fprintf(stderr, "%s: seconds per op kind (forward + backward) in a profiled step of %.3f s\n", task.c_str(),
               profiled);
  for (const auto& [s, op] : rows)
    std::fprintf(stderr, "  %-18s %8.3f  (forward %.3f)\n", op_def(op).name, s, profile.forward_seconds[op]);
  std::sort(seconds.begin(), seconds.end());
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  // The fastest run: on a shared machine other work only ever adds time.
  double fastest = seconds.front();
  double gpu_mb =
      device.is_cuda() ? double(cuda::allocated_bytes(device.index) + cuda::cached_bytes(device.index)) / (1 << 20) : 0;
  double steady_mb = 0;
  if (FILE* f = std::fopen("/proc/self/status", "r")) {
    char line[256];
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "VmHWM: %lf", &steady_mb) == 1) steady_mb /= 1024;
    std::fclose(f);
  }
  StepMemory::Stats plan = model->step_memory(batch, task == "train" ? NetworkMode::Train : NetworkMode::Eval).stats();
  std::fprintf(stderr,
               "%s: memory plan: %lld buffers, arena %.0f MB (peak live %.0f MB, %.0f MB without reuse), "
               "%lld served from the arena in the last step, %lld fallbacks\n",
               task.c_str(), (long long)plan.buffers, plan.arena_bytes / 1048576.0, plan.peak_live_bytes / 1048576.0,
               plan.total_bytes / 1048576.0, (long long)plan.served, (long long)plan.fallbacks);
  std::printf(
      "{\"task\": \"%s\", \"batch\": %lld, \"seconds\": %.3f, \"images_per_second\": %.3f, "
      "\"peak_rss_mb\": %.0f, \"steady_rss_mb\": %.0f, \"arena_mb\": %.0f, \"gpu_mb\": %.0f}\n",
      task.c_str(), (long long)batch, fastest, double(batch) / fastest, usage.ru_maxrss / 1024.0, steady_mb,
      plan.arena_bytes / 1048576.0, gpu_mb);
  return 0;
}

// The modelled H200 time of the task's launches: a table per op kind (to
// stderr) and one JSON line, without and with CUDA graphs.
int plan_only(int argc, char** argv) {
  std::string task = argv[2];
  if (task != "forward" && task != "train") {
    std::fprintf(stderr, "bench_model --plan-only: task must be forward or train, got '%s'\n", task.c_str());
    return 2;
  }
  int64_t batch = argc > 3 ? std::atoll(argv[3]) : task == "train" ? 4 : 1;
  ModelConfig config;
  if (argc > 4) config.input_size = std::atoll(argv[4]);
  if (batch < 1 || config.input_size < 32) {
    std::fprintf(stderr, "bench_model --plan-only: batch must be positive and the input size at least 32\n");
    return 2;
  }
  std::vector<PlannedLaunch> launches =
      task == "train" ? plan_training_step(config, batch) : plan_inference(config, batch);
  std::map<std::string, std::vector<cuda::LaunchPlan>> by_op;
  std::vector<cuda::LaunchPlan> all;
  for (const PlannedLaunch& l : launches) {
    by_op[l.op].push_back(l.plan);
    all.push_back(l.plan);
  }
  // Kernel time by the bound that binds each launch (time_model.h): memory,
  // compute, issue, serial, latency.
  const char* kBounds[] = {"memory", "compute", "issue", "serial", "latency"};
  auto bound_ms = [&](const std::vector<cuda::LaunchPlan>& plans) {
    std::map<std::string, double> ms;
    for (const cuda::LaunchPlan& p : plans) {
      cuda::LaunchTime t = cuda::model_launch(p);
      ms[t.bound()] += t.kernel_seconds * 1e3;
    }
    return ms;
  };
  std::vector<std::pair<double, std::string>> rows;
  for (const auto& [op, plans] : by_op) rows.emplace_back(cuda::model_sequence(plans), op);
  std::sort(rows.rbegin(), rows.rend());
  double seconds = cuda::model_sequence(all), graphed = cuda::model_sequence(all, true);
  std::fprintf(stderr, "%s, batch %lld, %lld², matmul precision %s: %zu launches, modelled on an H200\n", task.c_str(),
               (long long)batch, (long long)config.input_size, matmul_precision_name(matmul_precision()), all.size());
  std::fprintf(stderr, "  %-18s %9s  %8s   kernel ms bound by: %7s %7s %7s %7s %7s\n", "op", "ms", "launches",
               kBounds[0], kBounds[1], kBounds[2], kBounds[3], kBounds[4]);
  for (const auto& [s, op] : rows) {
    std::map<std::string, double> ms = bound_ms(by_op[op]);
    std::fprintf(stderr, "  %-18s %9.3f  %8zu   %27.3f %7.3f %7.3f %7.3f %7.3f\n", op.c_str(), s * 1e3,
                 by_op[op].size(), ms[kBounds[0]], ms[kBounds[1]], ms[kBounds[2]], ms[kBounds[3]], ms[kBounds[4]]);
  }
  // --top N: the N slowest launches, each with its bounds.
  for (int i = 5; i + 1 < argc; ++i) {
    if (std::string(argv[i]) != "--top") continue;
    std::vector<std::pair<cuda::LaunchTime, const PlannedLaunch*>> slowest;
    for (const PlannedLaunch& l : launches) slowest.emplace_back(cuda::model_launch(l.plan), &l);
    std::stable_sort(slowest.begin(), slowest.end(),
                     [](const auto& a, const auto& b) { return a.first.kernel_seconds > b.first.kernel_seconds; });
    slowest.resize(std::min(slowest.size(), size_t(std::atoll(argv[i + 1]))));
    std::fprintf(stderr, "  the slowest launches (ms: memory / compute / issue / latency; grid):\n");
    for (const auto& [t, l] : slowest) {
      std::fprintf(stderr, "  %7.3f %-7s %6.3f / %6.3f / %6.3f / %6.3f  [%lld,%lld,%lld]  %s  %s  %s\n",
                   t.kernel_seconds * 1e3, t.bound(), t.memory_seconds * 1e3, t.compute_seconds * 1e3,
                   t.issue_seconds * 1e3, t.latency_seconds * 1e3, (long long)l->plan.grid.x, (long long)l->plan.grid.y,
                   (long long)l->plan.grid.z, l->plan.kernel.c_str(), l->where.c_str(), l->shapes.c_str());
    }
  }
  // Loads exposed: what the launches bound by latency would save if their
  // loads were hidden (a deeper pipeline, cp.async), down to their next bound.
  double exposed = 0;
  int latency_bound = 0;
  for (const cuda::LaunchPlan& p : all) {
    cuda::LaunchTime t = cuda::model_launch(p);
    if (std::string(t.bound()) != "latency") continue;
    ++latency_bound;
    exposed += t.latency_seconds - std::max({t.memory_seconds, t.compute_seconds, t.issue_seconds, t.serial_seconds});
  }
  std::fprintf(stderr, "  loads exposed: %d launches bound by latency, %.3f ms above their next bound\n", latency_bound,
               exposed * 1e3);
  std::map<std::string, double> total = bound_ms(all);
  std::printf(
      "{\"task\": \"%s\", \"batch\": %lld, \"seconds\": %.4f, \"images_per_second\": %.2f, "
      "\"graph_seconds\": %.4f, \"launches\": %zu, \"bound_ms\": {\"memory\": %.3f, \"compute\": %.3f, "
      "\"issue\": %.3f, \"serial\": %.3f, \"latency\": %.3f}, \"modelled\": true}\n",
      task.c_str(), (long long)batch, seconds, double(batch) / seconds, graphed, all.size(), total["memory"],
      total["compute"], total["issue"], total["serial"], total["latency"]);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc >= 3 && std::string(argv[1]) == "--plan-only") return plan_only(argc, argv);
  if (argc < 3) {
    std::fprintf(stderr,
                 "usage: bench_model forward|train <checkpoint> [runs] [cpu|cuda:N] [batch]\n"
                 "       bench_model --plan-only forward|train [batch] [input size] [--top N]\n");
    return 2;
  }
  try {
    return run(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "bench_model: %s: %s\n", code_name(e.code()), e.what());
    return 1;
  }
}
