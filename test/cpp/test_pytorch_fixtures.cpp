// Every op, forward and backward, against PyTorch's values (written by the
// scripts of test/reference/), in float32 on the CPU.
#include "fixtures.h"
#include "harness.h"
#include "ops/activation.h"
#include "ops/adam.h"
#include "ops/attention.h"
#include "ops/binary.h"
#include "ops/conv2d.h"
#include "ops/deform_conv2d.h"
#include "ops/matmul.h"
#include "ops/layout.h"
#include "ops/losses.h"
#include "ops/normalization.h"
#include "ops/pooling.h"
#include "ops/softmax.h"
#include "ops/upsample.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

constexpr double kAtol = 1e-4, kRtol = 1e-4;

// Runs one fixture case through our op; returns {y, {grad name -> grad}}.
std::pair<Tensor, std::map<std::string, Tensor>> run_case(const FixtureCase& c) {
  if (c.op() == "adam") {
    // Three steps; the "output" is the parameters after the last, the others are checked as extras.
    AdamOptions o;
    o.lr = std::stod(c.field("lr").text);
    o.weight_decay = std::stod(c.field("weight_decay").text);
    Tensor p = c.at("p0").clone(), m = Tensor::zeros(p.shape(), p.dtype()), v = Tensor::zeros(p.shape(), p.dtype());
    std::map<std::string, Tensor> steps;
    for (int s = 1; s <= 3; ++s) {
      o.step = s;
      adam_step(p, c.at(concat("g", s)), m, v, o);
      steps[concat("p", s)] = p.clone();
    }
    return {steps["p3"], steps};
  }
  const Tensor& dy = c.at("dy");
  if (c.op() == "add" || c.op() == "mul") {
    const Tensor &a = c.at("a"), &b = c.at("b");
    bool is_add = c.op() == "add";
    BinaryGrads g = is_add ? add_backward(dy, a, b) : mul_backward(dy, a, b);
    return {is_add ? add(a, b) : mul(a, b), {{"da", g.da}, {"db", g.db}}};
  }
  if (c.op() == "matmul") {
    MatmulGrads g = matmul_backward(dy, c.at("a"), c.at("b"));
    return {matmul(c.at("a"), c.at("b")), {{"da", g.da}, {"db", g.db}}};
  }
  if (c.op() == "linear") {
    Tensor bias = c.has("bias") ? c.at("bias") : Tensor();
    LinearGrads g = linear_backward(dy, c.at("x"), c.at("weight"), bias.defined());
    std::map<std::string, Tensor> grads{{"dx", g.dx}, {"dweight", g.dweight}};
    if (bias.defined()) grads["dbias"] = g.dbias;
    return {linear(c.at("x"), c.at("weight"), bias), grads};
  }
  if (c.op() == "conv2d") {
    Conv2dOptions o;
    o.stride_h = c.integer("stride", 0), o.stride_w = c.integer("stride", 1);
    o.pad_h = c.integer("padding", 0), o.pad_w = c.integer("padding", 1);
    o.dilation_h = c.integer("dilation", 0), o.dilation_w = c.integer("dilation", 1);
    o.groups = static_cast<int64_t>(c.field("groups").as_index("groups"));
    Tensor bias = c.has("bias") ? c.at("bias") : Tensor();
    Conv2dGrads g = conv2d_backward(dy, c.at("x"), c.at("weight"), bias.defined(), o);
    std::map<std::string, Tensor> grads{{"dx", g.dx}, {"dweight", g.dweight}};
    if (bias.defined()) grads["dbias"] = g.dbias;
    return {conv2d(c.at("x"), c.at("weight"), bias, o), grads};
  }
  for (auto [name, a] : {std::pair{"gelu", Activation::Gelu}, {"silu", Activation::Silu}, {"sigmoid", Activation::Sigmoid}})
    if (c.op() == name) return {activation(a, c.at("x")), {{"dx", activation_backward(a, dy, c.at("x"))}}};
  if (c.op() == "softmax") {
    Tensor y = softmax(c.at("x"));
    return {y, {{"dx", softmax_backward(dy, y)}}};
  }
  if (c.op() == "batch_norm") {
    bool training = c.field("training").boolean;
    Tensor rm = c.at("running_mean").clone(), rv = c.at("running_var").clone();
    BatchNormOutput out = batch_norm(c.at("x"), c.at("weight"), c.at("bias"), rm, rv, training);
    NormGrads g = batch_norm_backward(dy, c.at("x"), c.at("weight"), out.mean, out.invstd, training);
    // The updated running statistics are outputs too.
    return {out.y, {{"dx", g.dx}, {"dweight", g.dweight}, {"dbias", g.dbias}, {"new_running_mean", rm}, {"new_running_var", rv}}};
  }
  if (c.op() == "layer_norm_channels" || c.op() == "layer_norm_last") {
    LayerNormAxis axis = c.op() == "layer_norm_last" ? LayerNormAxis::Last : LayerNormAxis::Channels;
    LayerNormOutput out = layer_norm(c.at("x"), c.at("weight"), c.at("bias"), axis);
    NormGrads g = layer_norm_backward(dy, c.at("x"), c.at("weight"), out.mean, out.invstd, axis);
    return {out.y, {{"dx", g.dx}, {"dweight", g.dweight}, {"dbias", g.dbias}}};
  }
  if (c.op() == "deform_conv2d") {
    DeformConv2dOptions o;
    o.stride_h = c.integer("stride", 0), o.stride_w = c.integer("stride", 1);
    o.pad_h = c.integer("padding", 0), o.pad_w = c.integer("padding", 1);
    o.dilation_h = c.integer("dilation", 0), o.dilation_w = c.integer("dilation", 1);
    o.groups = c.integer_field("groups");
    Tensor bias = c.has("bias") ? c.at("bias") : Tensor(), mask = c.has("mask") ? c.at("mask") : Tensor();
    DeformConv2dGrads g = deform_conv2d_backward(dy, c.at("x"), c.at("offset"), c.at("weight"), mask, bias.defined(), o);
    std::map<std::string, Tensor> grads{{"dx", g.dx}, {"doffset", g.doffset}, {"dweight", g.dweight}};
    if (bias.defined()) grads["dbias"] = g.dbias;
    if (mask.defined()) grads["dmask"] = g.dmask;
    return {deform_conv2d(c.at("x"), c.at("offset"), c.at("weight"), bias, mask, o), grads};
  }
  if (c.op() == "attention") {
    int64_t wh = c.integer("window", 0), ww = c.integer("window", 1), heads = c.integer_field("heads");
    double scale = std::stod(c.field("scale").text);
    AttentionOutput out = attention(c.at("q"), c.at("k"), c.at("v"), c.at("rel_pos"), wh, ww, heads, scale);
    AttentionGrads g = attention_backward(dy, c.at("q"), c.at("k"), c.at("v"), c.at("rel_pos"), out, wh, ww, heads, scale);
    return {out.out, {{"dq", g.dq}, {"dk", g.dk}, {"dv", g.dv}, {"drel_pos", g.drel_pos}}};
  }
  if (c.op() == "cross_entropy")
    return {cross_entropy(c.at("logits"), c.at("targets")), {{"dlogits", cross_entropy_backward(c.at("logits"), c.at("targets"), dy)}}};
  if (c.op() == "dice_loss")
    return {dice_loss(c.at("logits"), c.at("targets")), {{"dlogits", dice_loss_backward(c.at("logits"), c.at("targets"), dy)}}};
  if (c.op() == "avg_pool2d" || c.op() == "max_pool2d") {
    int64_t k = c.integer_field("kernel"), s = c.integer_field("stride");
    const Tensor& x = c.at("x");
    if (c.op() == "max_pool2d") return {max_pool2d(x, k, s), {{"dx", max_pool2d_backward(dy, x, k, s)}}};
    int64_t p = c.integer_field("padding");
    return {avg_pool2d(x, k, s, p), {{"dx", avg_pool2d_backward(dy, x, k, s, p)}}};
  }
  if (c.op() == "global_avg_pool") return {global_avg_pool(c.at("x")), {{"dx", global_avg_pool_backward(dy, c.at("x"))}}};
  if (c.op() == "channel_mean") return {channel_mean(c.at("x")), {{"dx", channel_mean_backward(dy, c.at("x"))}}};
  if (c.op() == "channel_max") return {channel_max(c.at("x")), {{"dx", channel_max_backward(dy, c.at("x"))}}};
  if (c.op() == "upsample2x") return {upsample2x(c.at("x")), {{"dx", upsample2x_backward(dy, c.at("x"))}}};
  if (c.op() == "concat_channels") {
    const Tensor &a = c.at("a"), &b = c.at("b"), &d = c.at("c");
    int64_t ca = a.dim(1), cb = b.dim(1), cd = d.dim(1);
    return {concat_channels({a, b, d}),
            {{"da", slice_channels(dy, 0, ca)}, {"db", slice_channels(dy, ca, ca + cb)}, {"dc", slice_channels(dy, ca + cb, ca + cb + cd)}}};
  }
  if (c.op() == "slice_channels") {
    int64_t begin = c.integer_field("begin"), end = c.integer_field("end");
    return {slice_channels(c.at("x"), begin, end), {{"dx", slice_channels_backward(dy, c.at("x").shape(), begin)}}};
  }
  if (c.op() == "permute") {
    std::vector<int> perm;
    for (size_t i = 0; i < c.field("perm").items.size(); ++i) perm.push_back(int(c.integer("perm", i)));
    return {permute(c.at("x"), perm), {{"dx", permute(dy, inverse_permutation(perm))}}};
  }
  if (c.op() == "window_partition") {
    const Tensor& x = c.at("x");
    int64_t wh = c.integer("window", 0), ww = c.integer("window", 1);
    return {window_partition(x, wh, ww), {{"dx", window_merge(dy, x.dim(0), x.dim(2), x.dim(3), wh, ww)}}};
  }
  throw Error(ErrorCode::Format, concat("fixture ", c.name, " has unknown op ", c.op()));
}

void check_fixture_file(const char* file, size_t min_cases) {
  auto cases = load_fixtures(file);
  CHECK(cases.size() >= min_cases);
  for (const auto& [name, c] : cases) {
    auto [y, grads] = run_case(c);
    double worst = closeness(y, c.at(c.has("y") ? "y" : "p3"), kAtol, kRtol);
    if (!(worst <= 1)) fail(__FILE__, __LINE__, concat(name, ": output off by ", worst, "× the tolerance"));
    for (const auto& [grad_name, grad] : grads) {
      worst = closeness(grad, c.at(grad_name), kAtol, kRtol);
      if (!(worst <= 1)) fail(__FILE__, __LINE__, concat(name, ": ", grad_name, " off by ", worst, "× the tolerance"));
    }
    std::printf("    %-22s %-20s matches PyTorch (y and %zu more)\n", name.c_str(), c.op().c_str(), grads.size());
  }
}

}  // namespace

TEST(foundation_ops_match_pytorch) { check_fixture_file("foundation_ops.safetensors", 28); }

TEST(layer_ops_match_pytorch) { check_fixture_file("layer_ops.safetensors", 18); }

TEST(shape_ops_match_pytorch) { check_fixture_file("shape_ops.safetensors", 16); }

TEST(deform_ops_match_torchvision) { check_fixture_file("deform_ops.safetensors", 5); }

TEST(attention_matches_pytorch) { check_fixture_file("attention_ops.safetensors", 4); }

TEST(train_ops_match_pytorch) { check_fixture_file("train_ops.safetensors", 8); }

TEST(losses_reject_bad_targets) {
  Tensor logits = Tensor::zeros({1, 2, 2, 2}, DType::F32);
  CHECK_THROWS(cross_entropy(logits, Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 0}, {1, 2, 2})),
               ErrorCode::InvalidArg, "target 2 at pixel 2 is not a class index in [0, 2)");
  CHECK_THROWS(dice_loss(logits, Tensor::zeros({1, 2, 2}, DType::F32)), ErrorCode::DType, "targets must be int32");
  CHECK_THROWS(cross_entropy(logits, Tensor::zeros({1, 2, 3}, DType::I32)), ErrorCode::Shape, "targets must have shape [1, 2, 2]");
}

int main() { return run_all(); }
