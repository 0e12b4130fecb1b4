// Times each op of bench/ops_cases.json, forward and backward, on the CPU
// (or CUDA with --device cuda) and prints one JSON object per case:
//   {"name": ..., "forward_ms": ..., "backward_ms": ...}   (the fastest run)
// bench/ops.sh runs it beside bench/ops_torch.py and prints the ratios.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <random>
#include <string>

#include "core/cuda_runtime.h"
#include "io/atomic_file.h"
#include "io/json.h"
#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/binary.h"
#include "ops/conv2d.h"
#include "ops/deform_conv2d.h"
#include "ops/gemm.h"
#include "ops/layout.h"
#include "ops/matmul.h"
#include "ops/normalization.h"
#include "ops/pooling.h"
#include "ops/softmax.h"
#include "ops/upsample.h"

using namespace dmdlk;

namespace {

Device device = Device::cpu();
std::mt19937 rng(1);

Tensor random(const Shape& shape, double scale = 1.0) {
  std::normal_distribution<float> normal(0.0f, float(scale));
  std::vector<float> v(size_t(shape_numel(shape)));
  for (float& x : v) x = normal(rng);
  return Tensor::from_vector(v, shape).to(device);
}

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
  while (runs.size() < 3 || (runs.size() < 25 && std::chrono::steady_clock::now() - start_all < std::chrono::seconds(1))) {
    auto t0 = std::chrono::steady_clock::now();
    body();
    sync();
    runs.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  return *std::min_element(runs.begin(), runs.end());
}

const json::Value& field(const json::Value& o, const std::string& key) {
  for (const auto& [k, v] : o.members)
    if (k == key) return v;
  throw Error(ErrorCode::Format, "bench case has no " + key);
}
int64_t num(const json::Value& o, const std::string& key) { return std::stoll(field(o, key).text); }
Shape shape(const json::Value& o, const std::string& key) {
  Shape s;
  for (const auto& d : field(o, key).items) s.push_back(std::stoll(d.text));
  return s;
}

std::pair<double, double> run_case(const json::Value& c) {
  const std::string op = field(c, "op").text;
  if (op == "gemm") {
    int64_t m = num(c, "m"), n = num(c, "n"), k = num(c, "k");
    Tensor a = random({m, k}), b = random({k, n});
    Tensor y = matmul(a, b);
    return {time_ms([&] { matmul(a, b); }), time_ms([&] { matmul_backward(y, a, b); })};
  }
  if (op == "conv2d") {
    Shape xs = shape(c, "x"), ws = shape(c, "w");
    Conv2dOptions o;
    o.stride_h = o.stride_w = num(c, "stride"), o.pad_h = o.pad_w = num(c, "pad");
    o.dilation_h = o.dilation_w = num(c, "dil"), o.groups = num(c, "groups");
    Tensor x = random(xs), w = random(ws, 0.1), b = random({ws[0]});
    Tensor y = conv2d(x, w, b, o);
    return {time_ms([&] { conv2d(x, w, b, o); }), time_ms([&] { conv2d_backward(y, x, w, true, o); })};
  }
  if (op == "deform_conv2d") {
    Shape xs = shape(c, "x");
    int64_t k = num(c, "k"), ch = xs[1];
    DeformConv2dOptions o;
    o.pad_h = o.pad_w = num(c, "pad"), o.dilation_h = o.dilation_w = num(c, "dil"), o.groups = ch;
    Tensor x = random(xs), off = random({xs[0], 2 * k * k, xs[2], xs[3]}, 2.0), w = random({ch, 1, k, k}, 0.1);
    Tensor y = deform_conv2d(x, off, w, Tensor(), Tensor(), o);
    return {time_ms([&] { deform_conv2d(x, off, w, Tensor(), Tensor(), o); }),
            time_ms([&] { deform_conv2d_backward(y, x, off, w, Tensor(), false, o); })};
  }
  if (op == "attention") {
    int64_t wins = num(c, "windows"), wh = num(c, "wh"), ww = num(c, "ww"), ch = num(c, "c"), heads = num(c, "heads");
    Tensor q = random({wins, wh * ww, ch}), k = random({wins, wh * ww, ch}), v = random({wins, wh * ww, ch});
    Tensor rel = random({heads, 2 * wh - 1, 2 * ww - 1});
    double scale = 1.0 / std::sqrt(double(ch / heads));
    AttentionOutput out = attention(q, k, v, rel, wh, ww, heads, scale);
    return {time_ms([&] { attention(q, k, v, rel, wh, ww, heads, scale); }),
            time_ms([&] { attention_backward(out.out, q, k, v, rel, out, wh, ww, heads, scale); })};
  }
  Tensor x = random(shape(c, "x"));
  if (op == "batch_norm") {
    int64_t ch = x.dim(1);
    Tensor w = random({ch}), b = random({ch}), rm = random({ch}), rv = mul(random({ch}), random({ch}));
    BatchNormOutput out = batch_norm(x, w, b, rm, rv, true);
    return {time_ms([&] { batch_norm(x, w, b, rm, rv, true); }),
            time_ms([&] { batch_norm_backward(x, x, w, out.mean, out.invstd, true); })};
  }
  if (op == "layer_norm") {
    int64_t ch = x.dim(1);
    Tensor w = random({ch}), b = random({ch});
    LayerNormOutput out = layer_norm(x, w, b, LayerNormAxis::Channels);
    return {time_ms([&] { layer_norm(x, w, b, LayerNormAxis::Channels); }),
            time_ms([&] { layer_norm_backward(x, x, w, out.mean, out.invstd, LayerNormAxis::Channels); })};
  }
  if (op == "gelu")
    return {time_ms([&] { activation(Activation::Gelu, x); }), time_ms([&] { activation_backward(Activation::Gelu, x, x); })};
  if (op == "upsample") {
    Tensor y = upsample2x(x);
    return {time_ms([&] { upsample2x(x); }), time_ms([&] { upsample2x_backward(y, x); })};
  }
  if (op == "max_pool") {
    Tensor y = max_pool2d(x, 2, 2);
    return {time_ms([&] { max_pool2d(x, 2, 2); }), time_ms([&] { max_pool2d_backward(y, x, 2, 2); })};
  }
  if (op == "avg_pool") {
    Tensor y = avg_pool2d(x, 3, 2, 1);
    return {time_ms([&] { avg_pool2d(x, 3, 2, 1); }), time_ms([&] { avg_pool2d_backward(y, x, 3, 2, 1); })};
  }
  if (op == "channel_max") {
    Tensor y = channel_max(x);
    return {time_ms([&] { channel_max(x); }), time_ms([&] { channel_max_backward(y, x); })};
  }
  if (op == "channel_mean") {
    Tensor y = channel_mean(x);
    return {time_ms([&] { channel_mean(x); }), time_ms([&] { channel_mean_backward(y, x); })};
  }
  if (op == "global_avg_pool") {
    Tensor y = global_avg_pool(x);
    return {time_ms([&] { global_avg_pool(x); }), time_ms([&] { global_avg_pool_backward(y, x); })};
  }
  if (op == "mul") {
    Tensor y = random(shape(c, "y")), out = mul(x, y);
    return {time_ms([&] { mul(x, y); }), time_ms([&] { mul_backward(out, x, y); })};
  }
  if (op == "window_partition") {
    int64_t w = num(c, "window");
    Tensor tokens = window_partition(x, w, w);
    return {time_ms([&] { window_partition(x, w, w); }),
            time_ms([&] { window_merge(tokens, x.dim(0), x.dim(2), x.dim(3), w, w); })};
  }
  if (op == "softmax") {
    Tensor y = softmax(x);
    return {time_ms([&] { softmax(x); }), time_ms([&] { softmax_backward(y, y); })};
  }
  throw Error(ErrorCode::Format, "unknown bench op " + op);
}

}  // namespace

int main(int argc, char** argv) {
  std::string cases_path = argc > 1 ? argv[1] : "bench/ops_cases.json";
  if (argc > 3 && std::string(argv[2]) == "--device") device = parse_device(argv[3]);
  std::vector<uint8_t> text = read_file(cases_path);
  json::Value cases = json::parse(reinterpret_cast<const char*>(text.data()), text.size());
  for (const json::Value& c : cases.items) {
    auto [fwd, bwd] = run_case(c);
    std::printf("{\"name\": %s, \"forward_ms\": %.3f, \"backward_ms\": %.3f}\n", json::quote(field(c, "name").text).c_str(), fwd, bwd);
    std::fflush(stdout);
  }
  return 0;
}
