#include "nn/network.h"

#include <cmath>
#include <map>

#include "nn/parameters.h"
#include "ops/activation.h"
#include "ops/attention.h"
#include "ops/binary.h"
#include "ops/conv2d.h"
#include "ops/deform_conv2d.h"
#include "ops/layout.h"
#include "ops/losses.h"
#include "ops/matmul.h"
#include "ops/normalization.h"
#include "ops/pooling.h"
#include "ops/softmax.h"
#include "ops/upsample.h"

namespace dmdlk {

namespace {

using V = ValueId;

// Emits the nodes of the network; each method is one op of the op library.
class Builder {
 public:
  Builder(const ModelConfig& config, NetworkMode mode, Network& net) : c_(config), training_(mode == NetworkMode::Train), net_(net) {
    for (const TensorSpec& s : checkpoint_layout(config)) {
      ValueKind kind = s.kind == TensorKind::Parameter ? ValueKind::Parameter : ValueKind::Buffer;
      V id = g().add_value({s.name, s.shape, DType::F32, kind});
      named_[s.name] = id;
      net_.state.emplace_back(s.name, id);
    }
  }

  Graph& g() { return net_.graph; }
  const Shape& shape(V v) { return g().value(v).shape; }
  V p(const std::string& name) { return named_.at(name); }
  bool has(const std::string& name) const { return named_.count(name) > 0; }

  V node(const std::string& op, std::vector<V> inputs, const Shape& out, std::function<Tensors(const Tensors&)> forward,
         std::function<Tensors(const Tensors&, const Tensors&, const Tensors&)> backward) {
    return nodes(op, std::move(inputs), {out}, std::move(forward), std::move(backward))[0];
  }
  std::vector<V> nodes(const std::string& op, std::vector<V> inputs, const std::vector<Shape>& outs,
                       std::function<Tensors(const Tensors&)> forward,
                       std::function<Tensors(const Tensors&, const Tensors&, const Tensors&)> backward) {
    return g().add_node({op, scope_, std::move(inputs), {}, std::move(forward), std::move(backward)}, outs);
  }

  // Tags the nodes built from now on as belonging to `module`.
  void scope(const std::string& module) { scope_ = module; }

  V conv(V x, const std::string& name, int64_t k, int64_t stride, int64_t pad, int64_t dilation, int64_t groups, bool bias) {
    Conv2dOptions o{stride, stride, pad, pad, dilation, dilation, groups};
    const Shape& s = shape(x);
    int64_t cout = shape(p(name + ".weight"))[0];
    int64_t side_h = (s[2] + 2 * pad - dilation * (k - 1) - 1) / stride + 1, side_w = (s[3] + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
    std::vector<V> in{x, p(name + ".weight")};
    if (bias) in.push_back(p(name + ".bias"));
    return node("conv2d " + name, in, {s[0], cout, side_h, side_w},
                [o, bias](const Tensors& t) { return Tensors{conv2d(t[0], t[1], bias ? t[2] : Tensor(), o)}; },
                [o, bias](const Tensors& t, const Tensors&, const Tensors& d) {
                  Conv2dGrads gr = conv2d_backward(d[0], t[0], t[1], bias, o);
                  return Tensors{gr.dx, gr.dweight, gr.dbias};
                });
  }
  V conv1x1(V x, const std::string& name, bool bias) { return conv(x, name, 1, 1, 0, 1, 1, bias); }

  V bn(V x, const std::string& name) {
    int64_t ch = shape(x)[1];
    bool training = training_;
    return nodes("batch_norm " + name, {x, p(name + ".weight"), p(name + ".bias"), p(name + ".running_mean"), p(name + ".running_var")},
                 {shape(x), {ch}, {ch}},
                 [training](const Tensors& t) {
                   Tensor rm = t[3], rv = t[4];  // the model's buffers, updated in place when training
                   BatchNormOutput out = batch_norm(t[0], t[1], t[2], rm, rv, training);
                   return Tensors{out.y, out.mean, out.invstd};
                 },
                 [training](const Tensors& t, const Tensors& out, const Tensors& d) {
                   NormGrads gr = batch_norm_backward(d[0], t[0], t[1], out[1], out[2], training);
                   return Tensors{gr.dx, gr.dweight, gr.dbias};
                 })[0];
  }

  V layer_norm(V x, const std::string& name, LayerNormAxis axis) {
    const Shape& s = shape(x);
    int64_t groups = axis == LayerNormAxis::Channels ? s[0] * s[2] * s[3] : shape_numel(s) / s.back();
    return nodes("layer_norm " + name, {x, p(name + ".weight"), p(name + ".bias")}, {s, {groups}, {groups}},
                 [axis](const Tensors& t) {
                   LayerNormOutput out = dmdlk::layer_norm(t[0], t[1], t[2], axis);
                   return Tensors{out.y, out.mean, out.invstd};
                 },
                 [axis](const Tensors& t, const Tensors& out, const Tensors& d) {
                   NormGrads gr = layer_norm_backward(d[0], t[0], t[1], out[1], out[2], axis);
                   return Tensors{gr.dx, gr.dweight, gr.dbias};
                 })[0];
  }

  V act(V x, Activation a) {
    return node("activation", {x}, shape(x), [a](const Tensors& t) { return Tensors{activation(a, t[0])}; },
                [a](const Tensors& t, const Tensors&, const Tensors& d) { return Tensors{activation_backward(a, d[0], t[0])}; });
  }
  V gelu(V x) { return act(x, Activation::Gelu); }
  V sigmoid(V x) { return act(x, Activation::Sigmoid); }

  Shape broadcast(V a, V b) { return broadcast_shape(shape(a), shape(b), "graph"); }
  V add(V a, V b) {
    return node("add", {a, b}, broadcast(a, b), [](const Tensors& t) { return Tensors{dmdlk::add(t[0], t[1])}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) {
                  BinaryGrads gr = add_backward(d[0], t[0], t[1]);
                  return Tensors{gr.da, gr.db};
                });
  }
  V mul(V a, V b) {
    return node("mul", {a, b}, broadcast(a, b), [](const Tensors& t) { return Tensors{dmdlk::mul(t[0], t[1])}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) {
                  BinaryGrads gr = mul_backward(d[0], t[0], t[1]);
                  return Tensors{gr.da, gr.db};
                });
  }

  V reshape(V x, const Shape& to) {
    return node("reshape", {x}, to, [to](const Tensors& t) { return Tensors{t[0].reshape(to)}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) { return Tensors{d[0].reshape(t[0].shape())}; });
  }

  V concat(std::vector<V> parts) {
    Shape s = shape(parts[0]);
    std::vector<int64_t> widths;
    s[1] = 0;
    for (V v : parts) widths.push_back(shape(v)[1]), s[1] += shape(v)[1];
    return node("concat", parts, s, [](const Tensors& t) { return Tensors{concat_channels(t)}; },
                [widths](const Tensors&, const Tensors&, const Tensors& d) {
                  Tensors out;
                  int64_t begin = 0;
                  for (int64_t w : widths) out.push_back(slice_channels(d[0], begin, begin + w)), begin += w;
                  return out;
                });
  }
  V slice(V x, int64_t begin, int64_t end) {
    Shape s = shape(x);
    s[1] = end - begin;
    return node("slice", {x}, s, [begin, end](const Tensors& t) { return Tensors{slice_channels(t[0], begin, end)}; },
                [begin](const Tensors& t, const Tensors&, const Tensors& d) {
                  return Tensors{slice_channels_backward(d[0], t[0].shape(), begin)};
                });
  }

  V avg_pool(V x) {
    Shape s = shape(x);
    s[2] = (s[2] - 1) / 2 + 1, s[3] = (s[3] - 1) / 2 + 1;
    return node("avg_pool", {x}, s, [](const Tensors& t) { return Tensors{avg_pool2d(t[0], 3, 2, 1)}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) { return Tensors{avg_pool2d_backward(d[0], t[0], 3, 2, 1)}; });
  }
  V down2(V x) {
    Shape s = shape(x);
    s[2] /= 2, s[3] /= 2;
    return node("max_pool", {x}, s, [](const Tensors& t) { return Tensors{max_pool2d(t[0], 2, 2)}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) { return Tensors{max_pool2d_backward(d[0], t[0], 2, 2)}; });
  }
  V up2(V x) {
    Shape s = shape(x);
    s[2] *= 2, s[3] *= 2;
    return node("upsample2x", {x}, s, [](const Tensors& t) { return Tensors{upsample2x(t[0])}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) { return Tensors{upsample2x_backward(d[0], t[0])}; });
  }
  V global_mean(V x) {
    Shape s = shape(x);
    s[2] = s[3] = 1;
    return node("global_avg_pool", {x}, s, [](const Tensors& t) { return Tensors{global_avg_pool(t[0])}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) { return Tensors{global_avg_pool_backward(d[0], t[0])}; });
  }
  V channel_reduce(V x, ChannelReduce kind) {
    Shape s = shape(x);
    s[1] = 1;
    bool is_max = kind == ChannelReduce::Max;
    return node(is_max ? "channel_max" : "channel_mean", {x}, s,
                [is_max](const Tensors& t) { return Tensors{is_max ? channel_max(t[0]) : channel_mean(t[0])}; },
                [is_max](const Tensors& t, const Tensors&, const Tensors& d) {
                  return Tensors{is_max ? channel_max_backward(d[0], t[0]) : channel_mean_backward(d[0], t[0])};
                });
  }
  V softmax_last(V x) {
    return node("softmax", {x}, shape(x), [](const Tensors& t) { return Tensors{softmax(t[0])}; },
                [](const Tensors&, const Tensors& out, const Tensors& d) { return Tensors{softmax_backward(d[0], out[0])}; });
  }
  V matmul(V a, V b) {
    Shape s = shape(a);
    s.back() = shape(b).back();
    return node("matmul", {a, b}, s, [](const Tensors& t) { return Tensors{dmdlk::matmul(t[0], t[1])}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) {
                  MatmulGrads gr = matmul_backward(d[0], t[0], t[1]);
                  return Tensors{gr.da, gr.db};
                });
  }
  V linear(V x, const std::string& name) {
    Shape s = shape(x);
    s.back() = shape(p(name + ".weight"))[0];
    return node("linear " + name, {x, p(name + ".weight"), p(name + ".bias")}, s,
                [](const Tensors& t) { return Tensors{dmdlk::linear(t[0], t[1], t[2])}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) {
                  LinearGrads gr = linear_backward(d[0], t[0], t[1], true);
                  return Tensors{gr.dx, gr.dweight, gr.dbias};
                });
  }
  V windows(V x, int64_t w) {
    const Shape& s = shape(x);
    return node("window_partition", {x}, {s[0] * (s[2] / w) * (s[3] / w), w * w, s[1]},
                [w](const Tensors& t) { return Tensors{window_partition(t[0], w, w)}; },
                [w](const Tensors& t, const Tensors&, const Tensors& d) {
                  const Shape& xs = t[0].shape();
                  return Tensors{window_merge(d[0], xs[0], xs[2], xs[3], w, w)};
                });
  }
  V merge(V tokens, const Shape& image, int64_t w) {
    return node("window_merge", {tokens}, image,
                [image, w](const Tensors& t) { return Tensors{window_merge(t[0], image[0], image[2], image[3], w, w)}; },
                [w](const Tensors&, const Tensors&, const Tensors& d) { return Tensors{window_partition(d[0], w, w)}; });
  }
  V attention(V q, V k, V v, const std::string& rel_pos, int64_t w, int64_t heads) {
    double scale = 1.0 / std::sqrt(double(c_.head_dim));
    const Shape& s = shape(q);
    return nodes("attention", {q, k, v, p(rel_pos)}, {s, {s[0], heads, s[1]}},
                 [w, heads, scale](const Tensors& t) {
                   AttentionOutput out = dmdlk::attention(t[0], t[1], t[2], t[3], w, w, heads, scale);
                   return Tensors{out.out, out.logsumexp};
                 },
                 [w, heads, scale](const Tensors& t, const Tensors& out, const Tensors& d) {
                   AttentionGrads gr = attention_backward(d[0], t[0], t[1], t[2], t[3], {out[0], out[1]}, w, w, heads, scale);
                   return Tensors{gr.dq, gr.dk, gr.dv, gr.drel_pos};
                 })[0];
  }
  V deform(V x, V offset, const std::string& weight, int64_t k, int64_t dilation) {
    int64_t pad = dilation * (k - 1) / 2;
    DeformConv2dOptions o{1, 1, pad, pad, dilation, dilation, shape(x)[1]};
    return node("deform_conv2d " + weight, {x, offset, p(weight)}, shape(x),
                [o](const Tensors& t) { return Tensors{deform_conv2d(t[0], t[1], t[2], Tensor(), Tensor(), o)}; },
                [o](const Tensors& t, const Tensors&, const Tensors& d) {
                  DeformConv2dGrads gr = deform_conv2d_backward(d[0], t[0], t[1], t[2], Tensor(), false, o);
                  return Tensors{gr.dx, gr.doffset, gr.dweight};
                });
  }
  V cross_entropy_loss(V logits, V masks) {
    return node("cross_entropy", {logits, masks}, {}, [](const Tensors& t) { return Tensors{cross_entropy(t[0], t[1])}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) {
                  return Tensors{cross_entropy_backward(t[0], t[1], d[0]), Tensor()};
                });
  }
  V dice(V logits, V masks) {
    return node("dice_loss", {logits, masks}, {}, [](const Tensors& t) { return Tensors{dice_loss(t[0], t[1])}; },
                [](const Tensors& t, const Tensors&, const Tensors& d) {
                  return Tensors{dice_loss_backward(t[0], t[1], d[0]), Tensor()};
                });
  }

  // ---- modules -----------------------------------------------------------------
  V mbconv(V x, const std::string& name, int64_t cin, int64_t cout, int64_t stride, bool se) {
    V s = stride == 2 ? avg_pool(x) : x;
    if (cin != cout) s = conv1x1(s, name + "shortcut", true);
    int64_t e = c_.expansion * cout;
    V y = gelu(bn(conv1x1(bn(x, name + "pre_norm"), name + "expand", false), name + "expand_norm"));
    y = gelu(bn(conv(y, name + "dw", 3, stride, 1, 1, e, false), name + "dw_norm"));
    if (se) {
      V gate = act(conv1x1(global_mean(y), name + "se.reduce", true), Activation::Silu);
      y = mul(y, sigmoid(conv1x1(gate, name + "se.expand", true)));
    }
    return add(s, conv1x1(y, name + "project", true));
  }

  V moat(V x, const std::string& name, int64_t cin, int64_t cout, int64_t stride, int64_t window) {
    x = mbconv(x, name + "mbconv.", cin, cout, stride, false);
    V y = layer_norm(x, name + "attn_norm", LayerNormAxis::Channels);
    V t = windows(y, window);
    std::string a = name + "attn.";
    V o = attention(linear(t, a + "q"), linear(t, a + "k"), linear(t, a + "v"), a + "rel_pos", window, cout / c_.head_dim);
    return add(x, merge(linear(o, a + "proj"), shape(x), window));
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

  V dmff(V g1, V g2, const std::string& name) {
    std::string n = name + ".dmff.";
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
    int64_t pad = dilation * (k - 1) / 2;
    V offset = c_.offsets == OffsetKind::Full
                   ? conv(x, name + ".offset", k, 1, pad, dilation, 1, true)
                   : conv1x1(conv(x, name + ".offset_dw", k, 1, pad, dilation, shape(x)[1], false), name + ".offset", true);
    return deform(x, offset, name + ".weight", k, dilation);
  }

  V ddlk(V g, const std::string& name) {
    std::string n = name + ".ddlk.";
    V m1 = deformable(g, n + "dlk1", 5, 1);
    V m2 = deformable(m1, n + "dlk2", 7, 3);
    V m = concat({m1, m2});
    int64_t k = c_.select_kernel;
    V s = sigmoid(conv(concat({channel_reduce(m, ChannelReduce::Mean), channel_reduce(m, ChannelReduce::Max)}),
                       n + "select", k, 1, k / 2, 1, 1, true));
    return add(add(g, mul(m1, slice(s, 0, 1))), mul(m2, slice(s, 1, 2)));
  }

  V network(V images) {
    scope("stem");
    V e1 = conv(gelu(bn(conv(images, "stem.conv1", 3, 2, 1, 1, 1, true), "stem.norm1")), "stem.conv2", 3, 1, 1, 1, 1, true);
    scope("level2");
    V e2 = stage(e1, 0, "level2", c_.stem);
    scope("level3");
    V e3 = stage(e2, 1, "level3", c_.widths[0]);
    scope("level4");
    V e4 = stage(e3, 2, "level4", c_.widths[1]);
    scope("bottleneck");
    V z = stage(e4, 3, "bottleneck", c_.widths[2]);
    scope("bottleneck_up");
    V zu = gelu(bn(conv1x1(up2(z), "bottleneck_up.conv", false), "bottleneck_up.norm"));
    scope("decoder4");
    V d4 = ddlk(dmff(concat({up2(z), e4, down2(e3)}), zu, "decoder4"), "decoder4");
    scope("decoder3");
    V d3 = ddlk(dmff(concat({up2(e4), e3, down2(e2)}), up2(d4), "decoder3"), "decoder3");
    scope("decoder2");
    V d2 = ddlk(dmff(concat({up2(e3), e2, down2(e1)}), up2(d3), "decoder2"), "decoder2");
    scope("decoder1");
    V d1 = ddlk(dmff(concat({up2(e2), e1}), up2(d2), "decoder1"), "decoder1");
    scope("head");
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
  DMDLK_CHECK(mode == NetworkMode::Eval || batch >= 1, ErrorCode::InvalidArg, "training needs a batch");
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
