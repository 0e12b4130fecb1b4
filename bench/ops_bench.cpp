// Times each op case of test/op_cases.json that names a bench row, at the
// network's shapes, forward and backward, on the CPU (or CUDA with
// --device cuda), and prints one JSON object per case:
//   {"name": ..., "forward_ms": ..., "backward_ms": ...}   (the fastest run)
// With --plan-only it runs nothing and prints what the GPU time model
// (gpu/time_model.h) predicts for the same launches on an H200 instead:
//   {"name": ..., "forward_ms": ..., "backward_ms": ..., "launches": ..., "modelled": true}
// bench/ops.sh runs it beside bench/ops_torch.py and prints the ratios.
//   bench_ops [--device cpu|cuda] [--plan-only]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>

#include "core/cuda_runtime.h"
#include "gpu/time_model.h"
#include "io/json.h"
#include "op_cases.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

Device device = Device::cpu();

void sync() {
  if (device.is_cuda()) cuda::synchronize(device.index);
}

// The fastest of `body`'s runs in milliseconds (after one warm-up), at least 3
// and about a second in all. On a shared machine other work only ever adds
// time, so the fastest run is the least disturbed one (ops_torch.py does the same).
double time_ms(const std::function<void()>& body) {
  body();
  sync();
  std::vector<double> runs;
  auto start_all = std::chrono::steady_clock::now();
  while (runs.size() < 3 ||
         (runs.size() < 25 && std::chrono::steady_clock::now() - start_all < std::chrono::seconds(1))) {
    auto t0 = std::chrono::steady_clock::now();
    body();
    sync();
    runs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return *std::min_element(runs.begin(), runs.end());
}

// The backward is timed alone, from one forward's outputs (as PyTorch's is,
// by differentiating one retained graph again and again).
std::pair<double, double> measure(const OpCase& c, std::mt19937& rng) {
  Tensors in;
  for (const Tensor& t : draw_inputs(c.network, DType::F32, rng)) in.push_back(t.to(device));
  const OpAttrs& attrs = c.network_attrs;
  Tensors out = c.op->forward(in, attrs);
  Tensors dout(out.size());
  std::normal_distribution<float> normal;
  std::vector<float> dy(size_t(out[0].numel()));
  for (float& v : dy) v = normal(rng);
  dout[0] = Tensor::from_vector(dy, out[0].shape()).to(device);
  return {time_ms([&] { c.op->forward(in, attrs); }),
          time_ms([&] { c.op->backward(in, out, dout, attrs, WantedGrads{}); })};
}

double modelled_ms(const std::vector<cuda::LaunchPlan>& plans) { return cuda::model_sequence(plans) * 1e3; }

}  // namespace

int main(int argc, char** argv) {
  bool plan_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--device" && i + 1 < argc) device = parse_device(argv[++i]);
    else if (arg == "--plan-only") plan_only = true;
    else {
      std::fprintf(stderr, "usage: bench_ops [--device cpu|cuda] [--plan-only]\n");
      return 2;
    }
  }
  std::mt19937 rng(1);
  for (const OpCase& c : op_cases()) {
    if (c.bench.empty()) continue;
    std::string name = json::quote(c.bench);
    if (plan_only) {
      std::vector<Shape> shapes = shapes_of(c.network);
      auto fwd = c.op->cuda_launches(shapes, DType::F32, c.network_attrs, Pass::Forward, WantedGrads{});
      auto bwd = c.op->cuda_launches(shapes, DType::F32, c.network_attrs, Pass::Backward, WantedGrads{});
      std::printf(
          "{\"name\": %s, \"forward_ms\": %.4f, \"backward_ms\": %.4f, \"launches\": %zu, \"modelled\": true}\n",
          name.c_str(), modelled_ms(fwd), modelled_ms(bwd), fwd.size() + bwd.size());
    } else {
      auto [fwd, bwd] = measure(c, rng);
      std::printf("{\"name\": %s, \"forward_ms\": %.3f, \"backward_ms\": %.3f}\n", name.c_str(), fwd, bwd);
    }
    std::fflush(stdout);
  }
  return 0;
}
