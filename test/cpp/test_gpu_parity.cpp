// Every op case of test/op_cases.json on CUDA against the CPU, forward and
// backward, on the same random inputs: at the case's small odd shapes and at
// the network's own; and at the network's shapes, the launches each pass
// makes are those its OpDef plans (cuda_launches), so the plan check and
// time model of test_launch_plans describe the kernels that really run.
// Where there is no GPU it prints why and exits with 77, which CTest reports
// as skipped (not passed).
#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <random>

#include "core/cuda_runtime.h"
#include "core/matmul_precision.h"
#include "core/platform.h"
#include "data/augment.h"
#include "gpu/launch_plan.h"
#include "gradcheck.h"
#include "gradient_sums.h"
#include "nn/model.h"
#include "nn/trainer.h"
#include "op_cases.h"
#include "ops/adam.h"
#include "ops/attention.h"
#include "ops/binary.h"
#include "ops/conv2d.h"
#include "ops/layout.h"
#include "ops/matmul.h"
using namespace dmdlk;
using namespace dmdlk::test;

namespace {

using Run = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

// Bit for bit, NaN's bits included.
bool same_bits(const Tensor& a, const Tensor& b) {
  Tensor x = a.to(Device::cpu()), y = b.to(Device::cpu());
  return x.shape() == y.shape() && std::memcmp(x.raw(), y.raw(), x.nbytes()) == 0;
}

double rms(const Tensor& t) {
  double sum = 0;
  for (float v : t.to(Device::cpu()).to_vector<float>()) sum += double(v) * v;
  return std::sqrt(sum / double(std::max<int64_t>(1, t.numel())));
}

// Runs `run` on the CPU inputs and on CUDA copies of them; every output element
// must agree within tol·|want| + atol, where atol is tol, or tol times the
// output's RMS when rms_scaled (tensor-core products, whose rounding error
// grows with the scale of the whole sum rather than of each element).
void parity(const std::string& label, const std::vector<Tensor>& inputs, const Run& run, double tol = 2e-4,
            bool rms_scaled = false) {
  std::vector<Tensor> on_gpu;
  for (const Tensor& t : inputs) on_gpu.push_back(t.to(Device::cuda(0)));
  std::vector<Tensor> want = run(inputs), got = run(on_gpu);
  for (size_t i = 0; i < want.size(); ++i) {
    if (!want[i].defined()) continue;
    if (got[i].device() != Device::cuda(0))
      fail(__FILE__, __LINE__, concat(label, ": output ", i, " is not on the GPU"));
    double worst = closeness(got[i], want[i], rms_scaled ? tol * rms(want[i]) : tol, tol);
    if (!(worst <= 1)) fail(__FILE__, __LINE__, concat(label, ": output ", i, " off by ", worst, "× the tolerance"));
  }
}

std::mt19937 rng(2026);
Tensor r(const Shape& s, double scale = 1.0) { return random_tensor(s, rng, scale, DType::F32); }

// The case's inputs on the CPU, then its forward and backward wherever
// they are: the first output, every other output, every input's gradient
// and the state the op updated (BatchNorm's running statistics).
Tensors forward_and_backward(const OpCase& c, const OpAttrs& attrs, const Tensors& inputs, const Tensor& dy) {
  Tensors in;
  for (const Tensor& t : inputs) in.push_back(t.clone());
  Tensors out = c.op->forward(in, attrs);
  Tensors dout(out.size());
  dout[0] = dy;
  Tensors grads = c.op->backward(in, out, dout, attrs, WantedGrads{});
  Tensors all = out;
  all.insert(all.end(), grads.begin(), grads.end());
  for (const Tensor& t : in)
    if (is_floating(t.dtype())) all.push_back(t);
  return all;
}

void case_parity(const OpCase& c, const std::vector<InputSpec>& specs, const OpAttrs& attrs, const char* at) {
  Tensors inputs = draw_inputs(specs, DType::F32, rng);
  Shape y = c.op->infer_shape(shapes_of(specs), attrs)[0];
  inputs.push_back(random_tensor(y, rng, 1.0, DType::F32));
  parity(
      concat(c.name, " at ", at), inputs,
      [&](auto& in) {
        Tensors operands(in.begin(), in.end() - 1);
        return forward_and_backward(c, attrs, operands, in.back());
      },
      c.parity_tolerance);
}

}  // namespace

TEST(every_case_matches_the_cpu) {
  for (const OpCase& c : op_cases()) {
    if (!c.parity) continue;
    case_parity(c, c.inputs, c.attrs, "its small shapes");
    if (!c.network.empty()) case_parity(c, c.network, c.network_attrs, "the network's shapes");
  }
}

namespace {

// A launch as the plans and the log both describe it, for comparing them.
std::string launch_line(const cuda::LaunchPlan& p) {
  return concat(p.kernel, " grid ", p.grid.x, "x", p.grid.y, "x", p.grid.z, " block ", p.block.x, "x", p.block.y, "x",
                p.block.z, " shared ", p.shared_bytes);
}

std::vector<std::string> launch_lines(const std::vector<cuda::LaunchPlan>& plans) {
  std::vector<std::string> lines;
  for (const cuda::LaunchPlan& p : plans)
    if (p.kernel != "memset") lines.push_back(launch_line(p));  // memsets go through the driver, not our launcher
  return lines;
}

void expect_same_launches(const std::string& what, const std::vector<cuda::LaunchPlan>& planned,
                          const std::vector<cuda::LaunchPlan>& made) {
  std::vector<std::string> want = launch_lines(planned), got = launch_lines(made);
  if (want == got) return;
  std::string detail;
  for (size_t i = 0; i < std::max(want.size(), got.size()); ++i)
    detail += concat("\n      planned: ", i < want.size() ? want[i] : "-",
                     "\n      made:    ", i < got.size() ? got[i] : "-");
  fail(__FILE__, __LINE__, concat(what, ": the launches made are not those planned", detail));
}

}  // namespace

// The ops that add a gradient into one the graph holds do so on CUDA too
// (step_plan.cpp plans the graph's additions from that), in float32.
TEST(every_op_that_adds_into_a_gradient_adds_it_on_cuda) {
  int checked = 0;
  for (const OpCase& c : op_cases()) checked += check_gradient_sums(c, Device::cuda(0), DType::F32, 1e-4, rng);
  CHECK(checked >= 5);
}

TEST(every_case_makes_the_launches_it_plans) {
  for (const OpCase& c : op_cases()) {
    const std::vector<InputSpec>& specs = c.network.empty() ? c.inputs : c.network;
    const OpAttrs& attrs = c.network.empty() ? c.attrs : c.network_attrs;
    std::vector<Shape> shapes = shapes_of(specs);
    Tensors in;
    for (const Tensor& t : draw_inputs(specs, DType::F32, rng)) in.push_back(t.to(Device::cuda(0)));
    Tensors out;
    {
      cuda::LaunchLog log;
      out = c.op->forward(in, attrs);
      expect_same_launches(concat(c.name, " forward"),
                           c.op->cuda_launches(shapes, DType::F32, attrs, Pass::Forward, WantedGrads{}), log.launches);
    }
    Tensors dout(out.size());
    dout[0] = random_tensor(out[0].shape(), rng, 1.0, DType::F32).to(Device::cuda(0));
    cuda::LaunchLog log;
    c.op->backward(in, out, dout, attrs, WantedGrads{});
    expect_same_launches(concat(c.name, " backward"),
                         c.op->cuda_launches(shapes, DType::F32, attrs, Pass::Backward, WantedGrads{}), log.launches);
  }
}

// Every convolution form of the network (the stem, 1×1, depthwise, DDLK's
// dilated offset convolution, a small dense one).
void check_conv2d_forms(double tol, bool rms_scaled) {
  struct Case {
    Shape x, w;
    Conv2dOptions o;
  };
  for (const Case& c : std::vector<Case>{{{2, 3, 64, 64}, {32, 3, 3, 3}, {2, 2, 1, 1, 1, 1, 1}},
                                         {{2, 32, 32, 32}, {128, 32, 1, 1}, {}},
                                         {{2, 128, 32, 32}, {128, 1, 3, 3}, {2, 2, 1, 1, 1, 1, 128}},
                                         {{1, 32, 28, 28}, {98, 32, 7, 7}, {1, 1, 9, 9, 3, 3, 1}},
                                         {{2, 2, 56, 56}, {2, 2, 7, 7}, {1, 1, 3, 3, 1, 1, 1}}}) {
    Conv2dOptions o = c.o;
    parity(
        "conv2d", {r(c.x), r(c.w, 0.2), r({c.w[0]})},
        [o](auto& in) {
          Tensor y = conv2d(in[0], in[1], in[2], o);
          Conv2dGrads g = conv2d_backward(y, in[0], in[1], true, o);
          return std::vector<Tensor>{y, g.dx, g.dweight, g.dbias};
        },
        tol, rms_scaled);
  }
}

// Precisions "high" (TF32) and "medium" (BF16): the GEMMs of matmul, linear
// and convolution on the tensor cores, against the CPU's float32, with errors
// scaled to each output's RMS (TF32 rounds inputs to 2^-11, BF16 to 2^-8).
TEST(tensor_core_precisions) {
  bool tensor_cores = cuda::availability().devices[0].major >= 8;
  // 1 + 2^-12 has no TF32 or BF16 form (it rounds to 1): the product shows which units ran it.
  const float just_above_one = 1.0f + 1.0f / 4096;
  Tensor a = Tensor::from_vector(std::vector<float>{just_above_one}, {1, 1}).to(Device::cuda(0));
  Tensor one = Tensor::from_vector(std::vector<float>{1.0f}, {1, 1}).to(Device::cuda(0));
  struct RestoreHighest {  // even when a check fails, for the suites that follow
    ~RestoreHighest() { set_matmul_precision(MatmulPrecision::Highest); }
  } restore;
  for (MatmulPrecision p : {MatmulPrecision::High, MatmulPrecision::Medium}) {
    set_matmul_precision(p);
    float product = matmul(a, one).to(Device::cpu()).to_vector<float>()[0];
    CHECK_EQ(product, tensor_cores ? 1.0f : just_above_one);
    for (auto [sa, sb] : {std::pair{Shape{3, 70, 90}, Shape{3, 90, 65}},
                          {Shape{2, 3, 13, 17}, Shape{17, 11}},
                          {Shape{512, 512}, Shape{512, 512}}}) {
      parity(
          "matmul", {r(sa), r(sb)},
          [](auto& in) {
            Tensor y = matmul(in[0], in[1]);
            MatmulGrads g = matmul_backward(y, in[0], in[1]);
            return std::vector<Tensor>{y, g.da, g.db};
          },
          p == MatmulPrecision::High ? 1e-2 : 4e-2, true);
    }
    parity(
        "linear", {r({4, 196, 128}), r({384, 128}, 0.1), r({384})},
        [](auto& in) {
          Tensor y = linear(in[0], in[1], in[2]);
          LinearGrads g = linear_backward(y, in[0], in[1], true);
          return std::vector<Tensor>{y, g.dx, g.dweight, g.dbias};
        },
        p == MatmulPrecision::High ? 1e-2 : 4e-2, true);
    check_conv2d_forms(p == MatmulPrecision::High ? 1e-2 : 4e-2, true);
    // Attention's products (scores, values and the four of the backward) on
    // tensor cores, with the softmax and bias epilogues around them: 7×7
    // windows of 2 heads; global attention over 28×28 tokens (the
    // network's), whose value product splits K (its 784 tokens); and 8×8
    // windows of 2 heads of 512 channels, whose score product splits K (16
    // ways: the split-K path of the score epilogue).
    for (auto [windows, side, channels, heads] :
         {std::array<int64_t, 4>{8, 7, 64, 2}, std::array<int64_t, 4>{2, 28, 128, 4},
          std::array<int64_t, 4>{2, 8, 1024, 2}}) {
      int64_t tokens = side * side, d = channels / heads;
      double scale = 1.0 / std::sqrt(double(d));
      parity(
          concat("attention ", windows, "x", tokens, "x", channels),
          {r({windows, tokens, channels}), r({windows, tokens, channels}), r({windows, tokens, channels}),
           r({heads, 2 * side - 1, 2 * side - 1}, 0.1), r({windows, tokens, channels})},
          [&](auto& in) {
            AttentionOutput y = attention(in[0], in[1], in[2], in[3], side, side, heads, scale);
            AttentionGrads g = attention_backward(in[4], in[0], in[1], in[2], in[3], y, side, side, heads, scale);
            return std::vector<Tensor>{y.out, y.logsumexp, g.dq, g.dk, g.dv, g.drel_pos};
          },
          p == MatmulPrecision::High ? 1e-2 : 4e-2, true);
    }
  }
  set_matmul_precision(MatmulPrecision::Highest);
  CHECK_EQ(matmul(a, one).to(Device::cpu()).to_vector<float>()[0], just_above_one);
}

TEST(adam) {
  parity("adam", {r({100000}), r({100000}), r({100000}, 0.1), r({100000}, 0.1)}, [](auto& in) {
    Tensor p = in[0].clone(), m = in[2].clone(), v = mul(in[3], in[3]);
    AdamOptions o;
    o.lr = 1e-3, o.step = 7, o.weight_decay = 0.01;
    adam_step(p, in[1], m, v, o);
    return std::vector<Tensor>{p, m, v};
  });
}

TEST(adam_and_the_nonfinite_count_over_tensor_lists) {
  // 150 tensors (three lists), empty ones among them, as the trainer's step makes them.
  std::vector<Tensor> inputs;
  for (int t = 0; t < 150; ++t) {
    int64_t n = t % 17 == 0 ? 0 : 1 + int64_t(rng() % 9000);
    for (int a = 0; a < 4; ++a) inputs.push_back(r({n}, a >= 2 ? 0.1 : 1.0));
  }
  parity("adam_step_all", inputs, [](auto& in) {
    std::vector<AdamSlot> slots;
    for (size_t i = 0; i < in.size(); i += 4)
      slots.push_back({in[i].clone(), in[i + 1], in[i + 2].clone(), mul(in[i + 3], in[i + 3])});
    AdamOptions o;
    o.lr = 1e-3, o.step = 7, o.weight_decay = 0.01, o.decoupled_weight_decay = true, o.grad_scale = 0.7;
    adam_step_all(slots, o);
    std::vector<Tensor> out;
    for (const AdamSlot& s : slots) out.insert(out.end(), {s.params, s.m, s.v});
    return out;
  });
  std::vector<Tensor> grads;
  for (size_t i = 1; i < inputs.size(); i += 4) grads.push_back(inputs[i].clone());
  grads[5].data<float>()[0] = NAN, grads[90].data<float>()[0] = INFINITY;
  std::vector<Tensor> on_gpu;
  for (const Tensor& g : grads) on_gpu.push_back(g.to(Device::cuda(0)));
  Tensor counter = Tensor::zeros({1}, DType::I32, Device::cuda(0));
  count_nonfinite_all(on_gpu, counter);
  CHECK_EQ(counter.to(Device::cpu()).to_vector<int32_t>()[0], 2);
  // And the copies of many tensors at once (the trainer's keep of BatchNorm's statistics).
  std::vector<Tensor> copies = clone_all(on_gpu);
  for (size_t i = 0; i < grads.size(); ++i) CHECK(same_bits(copies[i], grads[i]));  // NaN too
}

TEST(data_preparation_and_augmentation) {
  // A training batch at 448×448 through every transform, then each transform alone.
  const int64_t b = 3, s = 448;
  std::vector<uint8_t> pixels(size_t(b * s * s * 3)), labels(size_t(b * s * s));
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = uint8_t(rng() % 256);
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = uint8_t(rng() % 2);
  Tensor images = Tensor::from_vector(pixels, {b, s, s, 3}), masks = Tensor::from_vector(labels, {b, s, s});
  Augmentation a = augmentation_from_json(
      R"({"hflip":0.5,"vflip":0.5,"rotateP":1,"rotateDegrees":40,"scaleP":1,"scaleMin":0.8,"scaleMax":1.25,"translateP":1,)"
      R"("translate":0.1,"jitterP":1,"brightness":0.3,"contrast":0.3,"saturation":0.3,"hue":0.1,"blurP":1,"blurSigmaMax":2})");
  std::vector<ImageAugment> draws = draw_augments(a, b, s, s, 11);
  PreparedBatch want = prepare_batch(images, masks, Device::cpu(), draws);
  PreparedBatch got = prepare_batch(images, masks, Device::cuda(0), draws);
  CHECK_CLOSE(got.images, want.images, 1e-4, 1e-4);
  // Nearest sampling may pick the other pixel where a coordinate lies within rounding of a half.
  std::vector<int32_t> gm = got.masks.to(Device::cpu()).to_vector<int32_t>(), wm = want.masks.to_vector<int32_t>();
  int64_t differ = 0;
  for (size_t i = 0; i < gm.size(); ++i) differ += gm[i] != wm[i];
  CHECK(differ * 10000 < int64_t(gm.size()));
  parity("resize_bilinear", {r({2, 2, 448, 448})},
         [](auto& in) { return std::vector<Tensor>{resize_bilinear(in[0], 1003, 517)}; });
}

// Steps replayed from CUDA graphs (nn/step_graph.h) against the same steps as
// launched: inference bit for bit; training with lr 0 (so that both models
// keep the same weights) its losses and BatchNorm statistics bit for bit, and
// its gradients, through Adam's moments, within the rounding of the
// deformable kernels' atomic sums. Then a new capture after the weights are
// replaced and after the precision changes.
TEST(steps_replayed_from_cuda_graphs_match_launched_ones) {
  ModelConfig c;
  c.input_size = 64, c.stem = 8, c.widths = {8, 16, 16, 32}, c.depths = {1, 1, 1, 1}, c.head_dim = 8;
  std::unique_ptr<Model> graphed = Model::create(c, Device::cuda(0), 3),
                         launched = Model::create(c, Device::cuda(0), 3);
  std::vector<Tensor> images, masks;
  for (int i = 0; i < 5; ++i) {
    images.push_back(r({2, 3, 64, 64}));
    std::vector<int32_t> labels(2 * 64 * 64);
    for (auto& l : labels) l = int32_t(rng() % 2);
    masks.push_back(Tensor::from_vector(labels, {2, 64, 64}));
  }
  auto as_launched = [&](auto f) {
    platform::set_environment("DMDLK_CUDA_GRAPHS", "0");
    auto out = f();
    platform::set_environment("DMDLK_CUDA_GRAPHS", nullptr);
    return out;
  };
  // Recorded, planned, captured (and run), replayed twice: every result its own tensor.
  std::vector<Tensor> kept;
  for (const Tensor& x : images) {
    Tensor got = graphed->forward(x), want = as_launched([&] { return launched->forward(x); });
    CHECK(same_bits(got, want));
    kept.push_back(got);
  }
  for (size_t i = 0; i < images.size(); ++i)
    CHECK(same_bits(kept[i], as_launched([&] { return launched->forward(images[i]); })));
  CHECK_EQ(graphed->graph_stats().captures, int64_t(1));
  CHECK_EQ(graphed->graph_stats().replays, int64_t(2));
  CHECK_EQ(graphed->graph_stats().failures, int64_t(0));

  AdamOptions o;
  o.lr = 0;
  AdamTrainer tg(*graphed, o), tl(*launched, o);
  for (size_t i = 0; i < images.size(); ++i) {
    double got = tg.step(images[i], masks[i]), want = as_launched([&] { return tl.step(images[i], masks[i]); });
    CHECK(std::memcmp(&got, &want, sizeof got) == 0);
  }
  CHECK_EQ(graphed->graph_stats().captures, int64_t(2));
  CHECK_EQ(graphed->graph_stats().replays, int64_t(4));
  for (size_t i = 0; i < graphed->state().size(); ++i)
    CHECK(same_bits(graphed->state()[i].second, launched->state()[i].second));
  NamedTensors mg = tg.moments(), ml = tl.moments();
  for (size_t i = 0; i < mg.size(); ++i) CHECK_CLOSE(mg[i].second, ml[i].second, 1e-6, 1e-4);

  // New weights: the graph is dropped and captured again; so is a step at another precision.
  graphed->set_state(launched->state());
  tg.step(images[0], masks[0]);
  CHECK_EQ(graphed->graph_stats().captures, int64_t(3));
  set_matmul_precision(MatmulPrecision::High);
  tg.step(images[0], masks[0]);
  set_matmul_precision(MatmulPrecision::Highest);
  CHECK_EQ(graphed->graph_stats().captures, int64_t(4));
  CHECK_EQ(graphed->graph_stats().failures, int64_t(0));
}

TEST(replayed_steps_read_the_weights_adam_updated_and_each_batch_size_has_its_graph) {
  // With a learning rate, every step trains on the weights the last step's
  // Adam update wrote in place, outside the graph: a replay that read the
  // weights as they were captured would repeat an old step's loss. The same
  // batch every step, so the losses move by the updates alone. Then another
  // batch size gets a graph of its own, and the first one's is replayed
  // again when that size returns.
  ModelConfig c;
  c.input_size = 64, c.stem = 8, c.widths = {8, 16, 16, 32}, c.depths = {1, 1, 1, 1}, c.head_dim = 8;
  std::unique_ptr<Model> graphed = Model::create(c, Device::cuda(0), 5),
                         launched = Model::create(c, Device::cuda(0), 5);
  auto batch = [&](int64_t n) {
    std::vector<int32_t> labels(size_t(n * 64 * 64));
    for (auto& l : labels) l = int32_t(rng() % 2);
    return std::pair{r({n, 3, 64, 64}), Tensor::from_vector(labels, {n, 64, 64})};
  };
  const auto [x2, m2] = batch(2);
  const auto [x1, m1] = batch(1);
  AdamOptions o;
  o.lr = 1e-2;
  AdamTrainer tg(*graphed, o), tl(*launched, o);
  std::vector<double> got, want;
  auto step = [&](const Tensor& x, const Tensor& m) {
    got.push_back(tg.step(x, m));
    platform::set_environment("DMDLK_CUDA_GRAPHS", "0");
    want.push_back(tl.step(x, m));
    platform::set_environment("DMDLK_CUDA_GRAPHS", nullptr);
  };
  for (int i = 0; i < 6; ++i) step(x2, m2);
  CHECK(std::memcmp(&got[0], &want[0], sizeof(double)) == 0);  // the same weights, the same kernels
  // Later steps' weights differ by the deformable kernels' atomic rounding only (Adam
  // can turn a gradient at the rounding's level into a whole step: 1e-3, not bits).
  for (size_t i = 1; i < got.size(); ++i) CHECK(std::abs(got[i] - want[i]) <= 1e-3 * std::abs(want[i]));
  // Steps 4–6 are replays of the graph captured at step 3: had they read step 3's
  // weights, their losses would be step 3's, which the updates since moved by more.
  CHECK(std::abs(want[5] - want[2]) > 1e-2 * std::abs(want[2]));
  CHECK_EQ(graphed->graph_stats().captures, int64_t(1));
  CHECK_EQ(graphed->graph_stats().replays, int64_t(3));
  for (int i = 0; i < 4; ++i) step(x1, m1);
  CHECK_EQ(graphed->graph_stats().captures, int64_t(2));
  const int64_t replays = graphed->graph_stats().replays;
  CHECK(replays > 3);
  for (int i = 0; i < 2; ++i) step(x2, m2);
  CHECK_EQ(graphed->graph_stats().captures, int64_t(2));  // batch 2's graph, replayed
  CHECK_EQ(graphed->graph_stats().replays, replays + 2);
  for (size_t i = 6; i < got.size(); ++i) CHECK(std::abs(got[i] - want[i]) <= 1e-3 * std::abs(want[i]));
  CHECK_EQ(graphed->graph_stats().failures, int64_t(0));
}

int main() {
  const cuda::Availability& a = cuda::availability();
  if (!a.available) {
    std::printf("skipped: no GPU (%s)\n", a.reason.c_str());
    return 77;
  }
  std::printf("GPU: %s\n", a.devices[0].name.c_str());
  // The op suites compare float32 with float32; tensor_core_precisions sets its own.
  set_matmul_precision(MatmulPrecision::Highest);
  return run_all();
}
