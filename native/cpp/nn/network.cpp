#include "nn/network.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "nn/parameters.h"
#include "ops/op.h"

namespace dmdlk {

LossKind loss_kind(const std::string& name) {
  if (name == "ce") return LossKind::CrossEntropy;
  if (name == "ce+dice") return LossKind::CrossEntropyDice;
  throw Error(ErrorCode::InvalidArg, concat("loss must be 'ce' or 'ce+dice', got '", name, "'"));
}

namespace {

using V = ValueId;

// Emits the nodes of the network; each method is one op of the op library.
class Builder {
 public:
  Builder(const ModelConfig& config, NetworkMode mode, Network& net)
      : c_(config), training_(mode == NetworkMode::Train), net_(net) {}

  Graph& g() { return net_.graph; }
  const Shape& shape(V v) { return g().value(v).shape; }
  V p(const std::string& name) {
    auto it = named_.find(name);
    DMDLK_CHECK(it != named_.end(), ErrorCode::Internal, "the network uses '", name, "' before declaring it");
    return it->second;
  }

  // ---- the checkpoint's tensors, declared by each module before it uses
  // them, in the order the PyTorch model of docs/architecture.md registers
  // them: the one walk the checkpoint layout comes from ---------------------------
  void declare(const std::string& name, Shape shape, Init init, int64_t fan_in = 0,
               TensorKind kind = TensorKind::Parameter) {
    DMDLK_CHECK(!named_.count(name), ErrorCode::Internal, "'", name, "' is declared twice");
    V id = g().add_value(
        {name, shape, DType::F32, kind == TensorKind::Parameter ? ValueKind::Parameter : ValueKind::Buffer});
    named_[name] = id;
    net_.state.emplace_back(name, id);
    net_.layout.push_back({name, std::move(shape), kind, init, fan_in});
  }
  void declare_conv(const std::string& name, int64_t cin, int64_t cout, int64_t k, bool bias, int64_t groups = 1,
                    Init init = Init::KaimingUniform) {
    int64_t fan_in = cin / groups * k * k;
    declare(name + ".weight", {cout, cin / groups, k, k}, init, fan_in);
    if (bias) declare(name + ".bias", {cout}, init, fan_in);
  }
  void declare_linear(const std::string& name, int64_t cin, int64_t cout) {
    declare(name + ".weight", {cout, cin}, Init::TruncNormal, cin);
    declare(name + ".bias", {cout}, Init::Zeros, cin);
  }
  void declare_batch_norm(const std::string& name, int64_t c) {
    declare(name + ".weight", {c}, Init::Ones);
    declare(name + ".bias", {c}, Init::Zeros);
    declare(name + ".running_mean", {c}, Init::Zeros, 0, TensorKind::Buffer);
    declare(name + ".running_var", {c}, Init::Ones, 0, TensorKind::Buffer);
  }
  void declare_layer_norm(const std::string& name, int64_t c) {
    declare(name + ".weight", {c}, Init::Ones);
    declare(name + ".bias", {c}, Init::Zeros);
  }

  // Appends a node of `kind` on `inputs`; returns its outputs (shapes inferred by the op).
  std::vector<V> apply_all(OpKind kind, std::vector<V> inputs, OpAttrs attrs = NoAttrs{}, std::string label = "") {
    return g().add_node({kind, std::move(attrs), std::move(label), scope_, std::move(inputs), {}});
  }
  // Its first output: the op's result.
  V apply(OpKind kind, std::vector<V> inputs, OpAttrs attrs = NoAttrs{}, std::string label = "") {
    return apply_all(kind, std::move(inputs), std::move(attrs), std::move(label))[0];
  }

  // Tags the nodes built from now on as belonging to `module`.
  void scope(const std::string& module) { scope_ = module; }

  // Parameters named `name.weight` (and `name.bias` when `bias`), after the data input.
  std::vector<V> with_params(V x, const std::string& name, bool bias) {
    std::vector<V> in{x, p(name + ".weight")};
    if (bias) in.push_back(p(name + ".bias"));
    return in;
  }

  // The kernel's size is its weight's.
  V conv(V x, const std::string& name, int64_t stride, int64_t pad, int64_t dilation, int64_t groups, bool bias) {
    return apply(OpKind::Conv2d, with_params(x, name, bias),
                 Conv2dOptions{stride, stride, pad, pad, dilation, dilation, groups}, name);
  }
  V conv1x1(V x, const std::string& name, bool bias) { return conv(x, name, 1, 0, 1, 1, bias); }
  // A 1×1 convolution with a bias, plus `residual` in the same pass (a block's skip connection).
  V conv1x1_plus(V x, const std::string& name, V residual) {
    std::vector<V> in = with_params(x, name, true);
    in.push_back(residual);
    Conv2dOptions o;
    o.residual = true;
    return apply(OpKind::Conv2d, std::move(in), o, name);
  }

  // BatchNorm, and the activation after it in the same op (one pass each way, no tensor between).
  V bn(V x, const std::string& name, Activation then = Activation::Identity) {
    return apply(OpKind::BatchNorm,
                 {x, p(name + ".weight"), p(name + ".bias"), p(name + ".running_mean"), p(name + ".running_var")},
                 BatchNormAttrs{training_, then}, name);
  }
  V bn_gelu(V x, const std::string& name) { return bn(x, name, Activation::Gelu); }
  V layer_norm(V x, const std::string& name, LayerNormAxis axis) {
    return apply(OpKind::LayerNorm, with_params(x, name, true), axis, name);
  }
  V act(V x, Activation a) { return apply(OpKind::Activation, {x}, a); }
  V sigmoid(V x) { return act(x, Activation::Sigmoid); }
  V add(V a, V b) { return apply(OpKind::Add, {a, b}); }
  V mul(V a, V b) { return apply(OpKind::Mul, {a, b}); }
  V reshape(V x, const Shape& to) { return apply(OpKind::Reshape, {x}, ReshapeAttrs{to}); }
  V concat(std::vector<V> parts) { return apply(OpKind::Concat, std::move(parts)); }
  V slice(V x, int64_t begin, int64_t end) { return apply(OpKind::Slice, {x}, SliceAttrs{begin, end}); }
  V avg_pool(V x) { return apply(OpKind::AvgPool2d, {x}, PoolAttrs{3, 2, 1}); }
  V down2(V x) { return apply(OpKind::MaxPool2d, {x}, PoolAttrs{2, 2, 0}); }
  V up2(V x) { return apply(OpKind::Upsample2x, {x}); }
  V global_mean(V x) { return apply(OpKind::GlobalAvgPool, {x}); }
  V channel_pool(V x) { return apply(OpKind::ChannelPool, {x}); }
  V softmax_last(V x) { return apply(OpKind::Softmax, {x}); }
  V matmul(V a, V b) { return apply(OpKind::Matmul, {a, b}); }
  V linear(V x, const std::string& name) { return apply(OpKind::Linear, with_params(x, name, true), NoAttrs{}, name); }
  V windows(V x, int64_t w) { return apply(OpKind::WindowPartition, {x}, WindowAttrs{w, w}); }
  // The windows' tokens back to the image, plus `residual` in the same pass (the block's skip connection).
  V merge_plus(V tokens, int64_t w, V residual) {
    return apply(OpKind::WindowMerge, {tokens, residual}, WindowMergeAttrs{w, w, shape(residual), true});
  }
  V attention(V q, V k, V v, const std::string& rel_pos, int64_t w, int64_t heads) {
    double scale = 1.0 / std::sqrt(double(c_.head_dim));
    return apply(OpKind::Attention, {q, k, v, p(rel_pos)}, AttentionAttrs{w, w, heads, scale}, rel_pos);
  }
  V deform(V x, V offset, const std::string& weight, int64_t k, int64_t dilation) {
    int64_t pad = dilation * (k - 1) / 2;
    DeformConv2dAttrs a{{1, 1, pad, pad, dilation, dilation, shape(x)[1]}, false, false};
    return apply(OpKind::DeformConv2d, {x, offset, p(weight)}, a, weight);
  }
  V cross_entropy_loss(V logits, V masks) { return apply(OpKind::CrossEntropy, {logits, masks}); }
  V dice(V logits, V masks) { return apply(OpKind::DiceLoss, {logits, masks}); }

  // ---- modules -----------------------------------------------------------------
  V mbconv(V x, const std::string& name, int64_t cin, int64_t cout, int64_t stride, bool se) {
    int64_t e = c_.expansion * cout;
    declare_batch_norm(name + "pre_norm", cin);
    declare_conv(name + "expand", cin, e, 1, false);
    declare_batch_norm(name + "expand_norm", e);
    declare_conv(name + "dw", e, e, 3, false, e);
    declare_batch_norm(name + "dw_norm", e);
    if (se) {
      int64_t squeezed = std::max<int64_t>(1, int64_t(c_.se_ratio * double(cout)));
      declare_conv(name + "se.reduce", e, squeezed, 1, true);
      declare_conv(name + "se.expand", squeezed, e, 1, true);
    }
    declare_conv(name + "project", e, cout, 1, true);
    if (cin != cout) declare_conv(name + "shortcut", cin, cout, 1, true);

    V s = stride == 2 ? avg_pool(x) : x;
    if (cin != cout) s = conv1x1(s, name + "shortcut", true);
    V y = bn_gelu(conv1x1(bn(x, name + "pre_norm"), name + "expand", false), name + "expand_norm");
    y = bn_gelu(conv(y, name + "dw", stride, 1, 1, e, false), name + "dw_norm");
    if (se) {
      V gate = act(conv1x1(global_mean(y), name + "se.reduce", true), Activation::Silu);
      y = mul(y, sigmoid(conv1x1(gate, name + "se.expand", true)));
    }
    return conv1x1_plus(y, name + "project", s);
  }

  V moat(V x, const std::string& name, int64_t cin, int64_t cout, int64_t stride, int64_t window) {
    x = mbconv(x, name + "mbconv.", cin, cout, stride, false);
    std::string a = name + "attn.";
    declare_layer_norm(name + "attn_norm", cout);
    declare(a + "rel_pos", {cout / c_.head_dim, 2 * window - 1, 2 * window - 1}, Init::Zeros);
    for (const char* projection : {"q", "k", "v", "proj"}) declare_linear(a + projection, cout, cout);

    V y = layer_norm(x, name + "attn_norm", LayerNormAxis::Channels);
    V t = windows(y, window);
    V o = attention(linear(t, a + "q"), linear(t, a + "k"), linear(t, a + "v"), a + "rel_pos", window,
                    cout / c_.head_dim);
    return merge_plus(linear(o, a + "proj"), window, x);
  }

  V stage(V x, int i, const std::string& name, int64_t cin) {
    int64_t cout = c_.widths[size_t(i)];
    for (int64_t b = 0; b < c_.depths[size_t(i)]; ++b) {
      std::string block = name + ".blocks." + std::to_string(b) + ".";
      int64_t block_in = b == 0 ? cin : cout, stride = b == 0 ? 2 : 1;
      x = c_.blocks[size_t(i)] == BlockKind::MBConv ? mbconv(x, block, block_in, cout, stride, true)
                                                    : moat(x, block, block_in, cout, stride, c_.stage_window(i));
    }
    return x;
  }

  V dmff(V g1, V g2, const std::string& name, int64_t cout) {
    std::string n = name + ".dmff.";
    int64_t ca = shape(g1)[1], cb = shape(g2)[1], both = ca + cb;
    declare_conv(n + "spatial1", ca, 1, 1, true);
    declare_conv(n + "spatial2", cb, 1, 1, true);
    declare_conv(n + "query", both, 1, 1, false);
    declare_conv(n + "value", both, both / 2, 1, false);
    declare_conv(n + "restore", both / 2, both, 1, false);
    declare_layer_norm(n + "norm", both);
    declare_conv(n + "out", both, cout, 1, false);

    V ms = sigmoid(add(conv1x1(g1, n + "spatial1", true), conv1x1(g2, n + "spatial2", true)));
    V gc = concat({g1, g2});
    const Shape s = shape(gc);
    int64_t b = s[0], ch = s[1], hw = s[2] * s[3];
    V q = softmax_last(reshape(conv1x1(gc, n + "query", false), {b, 1, hw}));
    V v = reshape(conv1x1(gc, n + "value", false), {b, ch / 2, hw});
    V z = reshape(matmul(v, reshape(q, {b, hw, 1})), {b, ch / 2, 1, 1});
    V w = reshape(conv1x1(z, n + "restore", false), {b, ch});
    w = reshape(sigmoid(layer_norm(w, n + "norm", LayerNormAxis::Last)), {b, ch, 1, 1});
    return mul(ms, conv1x1(mul(gc, w), n + "out", false));
  }

  V deformable(V x, const std::string& name, int64_t k, int64_t dilation) {
    int64_t ch = shape(x)[1];
    declare(name + ".weight", {ch, 1, k, k}, Init::KaimingUniform, k * k);
    if (c_.offsets == OffsetKind::Light) {
      declare_conv(name + ".offset_dw", ch, ch, k, false, ch);
      declare_conv(name + ".offset", ch, 2 * k * k, 1, true, 1, Init::Zeros);
    } else {
      declare_conv(name + ".offset", ch, 2 * k * k, k, true, 1, Init::Zeros);
    }

    int64_t pad = dilation * (k - 1) / 2;
    V offset =
        c_.offsets == OffsetKind::Full
            ? conv(x, name + ".offset", 1, pad, dilation, 1, true)
            : conv1x1(conv(x, name + ".offset_dw", 1, pad, dilation, shape(x)[1], false), name + ".offset", true);
    return deform(x, offset, name + ".weight", k, dilation);
  }

  V ddlk(V g, const std::string& name) {
    std::string n = name + ".ddlk.";
    V m1 = deformable(g, n + "dlk1", 5, 1);
    V m2 = deformable(m1, n + "dlk2", 7, 3);
    declare_conv(n + "select", 2, 2, c_.select_kernel, true);
    V m = concat({m1, m2});
    V s = sigmoid(conv(channel_pool(m), n + "select", 1, c_.select_kernel / 2, 1, 1, true));
    return add(add(g, mul(m1, slice(s, 0, 1))), mul(m2, slice(s, 1, 2)));
  }

  V network(V images) {
    scope("stem");
    declare_conv("stem.conv1", c_.in_channels, c_.stem, 3, true);
    declare_batch_norm("stem.norm1", c_.stem);
    declare_conv("stem.conv2", c_.stem, c_.stem, 3, true);
    V e1 = conv(bn_gelu(conv(images, "stem.conv1", 2, 1, 1, 1, true), "stem.norm1"), "stem.conv2", 1, 1, 1, 1, true);
    scope("level2");
    V e2 = stage(e1, 0, "level2", c_.stem);
    scope("level3");
    V e3 = stage(e2, 1, "level3", c_.widths[0]);
    scope("level4");
    V e4 = stage(e3, 2, "level4", c_.widths[1]);
    scope("bottleneck");
    V z = stage(e4, 3, "bottleneck", c_.widths[2]);
    scope("bottleneck_up");
    const int64_t c1 = c_.widths[0], c2 = c_.widths[1], c3 = c_.widths[2], c4 = c_.widths[3];
    declare_conv("bottleneck_up.conv", c4, c3, 1, false);
    declare_batch_norm("bottleneck_up.norm", c3);
    V z2 = up2(z);  // read by bottleneck_up and by decoder 4: upsampled once
    V zu = bn_gelu(conv1x1(z2, "bottleneck_up.conv", false), "bottleneck_up.norm");
    scope("decoder4");
    V d4 = ddlk(dmff(concat({z2, e4, down2(e3)}), zu, "decoder4", c3), "decoder4");
    scope("decoder3");
    V d3 = ddlk(dmff(concat({up2(e4), e3, down2(e2)}), up2(d4), "decoder3", c2), "decoder3");
    scope("decoder2");
    V d2 = ddlk(dmff(concat({up2(e3), e2, down2(e1)}), up2(d3), "decoder2", c1), "decoder2");
    scope("decoder1");
    V d1 = ddlk(dmff(concat({up2(e2), e1}), up2(d2), "decoder1", c1), "decoder1");
    scope("head");
    declare_conv("head", c1, c_.num_classes, 1, true);
    return up2(conv1x1(d1, "head", true));
  }

 private:
  const ModelConfig& c_;
  bool training_;
  Network& net_;
  std::map<std::string, V> named_;
  std::string scope_;
};

}  // namespace

Network build_network(const ModelConfig& config, int64_t batch, NetworkMode mode, LossKind loss) {
  validate(config);
  DMDLK_CHECK(batch >= 1 && batch <= 4096, ErrorCode::InvalidArg, "batch must be in [1, 4096], got ", batch);
  Network net;
  Builder b(config, mode, net);
  int64_t side = config.input_size;
  net.images = net.graph.add_value({"images", {batch, config.in_channels, side, side}, DType::F32, ValueKind::Input});
  net.logits = b.network(net.images);
  if (mode == NetworkMode::Train) {
    net.masks = net.graph.add_value({"masks", {batch, side, side}, DType::I32, ValueKind::Input});
    b.scope("loss");
    net.loss = b.cross_entropy_loss(net.logits, net.masks);
    if (loss == LossKind::CrossEntropyDice) net.loss = b.add(net.loss, b.dice(net.logits, net.masks));
  }
  return net;
}

}  // namespace dmdlk
