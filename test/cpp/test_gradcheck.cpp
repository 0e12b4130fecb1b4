// Double-precision finite-difference checks of every op's backward.
#include "gradcheck.h"
#include "ops/activation.h"
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

TEST(add_broadcast_gradients) {
  std::mt19937 rng(1);
  for (auto shapes : std::vector<std::pair<Shape, Shape>>{{{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {3, 1}}, {{5}, {2, 1, 5}}}) {
    gradcheck("add", {random_tensor(shapes.first, rng), random_tensor(shapes.second, rng)},
              [](auto& in) { return add(in[0], in[1]); },
              [](auto& in, auto& dy) { auto g = add_backward(dy, in[0], in[1]); return std::vector<Tensor>{g.da, g.db}; });
  }
}

TEST(mul_broadcast_gradients) {
  std::mt19937 rng(2);
  // The network's own patterns too: a per-pixel gate over channels and a per-channel gate over pixels.
  for (auto shapes : std::vector<std::pair<Shape, Shape>>{{{2, 3, 4}, {2, 3, 4}}, {{4, 1, 3}, {2, 1}}, {{1, 3, 1}, {2, 1, 4}},
                                                          {{2, 3, 4, 5}, {2, 1, 4, 5}}, {{2, 3, 4, 5}, {2, 3, 1, 1}}}) {
    gradcheck("mul", {random_tensor(shapes.first, rng), random_tensor(shapes.second, rng)},
              [](auto& in) { return mul(in[0], in[1]); },
              [](auto& in, auto& dy) { auto g = mul_backward(dy, in[0], in[1]); return std::vector<Tensor>{g.da, g.db}; });
  }
}

TEST(matmul_gradients) {
  std::mt19937 rng(3);
  for (auto shapes : std::vector<std::pair<Shape, Shape>>{{{3, 5}, {5, 4}}, {{2, 3, 5}, {2, 5, 2}}, {{2, 2, 3, 4}, {4, 3}}, {{3, 4}, {2, 4, 5}}}) {
    gradcheck("matmul", {random_tensor(shapes.first, rng), random_tensor(shapes.second, rng)},
              [](auto& in) { return matmul(in[0], in[1]); },
              [](auto& in, auto& dy) { auto g = matmul_backward(dy, in[0], in[1]); return std::vector<Tensor>{g.da, g.db}; });
  }
}

TEST(linear_gradients) {
  std::mt19937 rng(4);
  gradcheck("linear+bias", {random_tensor({2, 3, 5}, rng), random_tensor({4, 5}, rng), random_tensor({4}, rng)},
            [](auto& in) { return linear(in[0], in[1], in[2]); },
            [](auto& in, auto& dy) { auto g = linear_backward(dy, in[0], in[1], true); return std::vector<Tensor>{g.dx, g.dweight, g.dbias}; });
  gradcheck("linear", {random_tensor({7, 3}, rng), random_tensor({2, 3}, rng)},
            [](auto& in) { return linear(in[0], in[1], Tensor()); },
            [](auto& in, auto& dy) { auto g = linear_backward(dy, in[0], in[1], false); return std::vector<Tensor>{g.dx, g.dweight}; });
}

TEST(conv2d_gradients) {
  std::mt19937 rng(5);
  struct Case { Shape x, w; Conv2dOptions o; };
  std::vector<Case> cases = {
      {{2, 3, 7, 6}, {4, 3, 3, 3}, {2, 2, 1, 1, 1, 1, 1}},   // strided, padded
      {{1, 4, 6, 7}, {4, 1, 3, 3}, {1, 1, 1, 1, 1, 1, 4}},   // depthwise
      {{2, 4, 8, 8}, {2, 2, 3, 3}, {1, 1, 2, 2, 2, 2, 2}},   // grouped, dilated
      {{1, 3, 5, 5}, {2, 3, 1, 1}, {}},                      // 1×1: x used as columns directly
      {{1, 2, 9, 8}, {3, 2, 3, 2}, {2, 1, 1, 0, 1, 2, 1}},   // non-square kernel, stride, dilation
      {{2, 2, 5, 6}, {3, 2, 3, 3}, {1, 1, 3, 3, 1, 1, 1}},   // padding wider than the kernel: dx by col2im
  };
  for (const Case& c : cases) {
    Conv2dOptions o = c.o;
    gradcheck("conv2d", {random_tensor(c.x, rng), random_tensor(c.w, rng), random_tensor({c.w[0]}, rng)},
              [o](auto& in) { return conv2d(in[0], in[1], in[2], o); },
              [o](auto& in, auto& dy) { auto g = conv2d_backward(dy, in[0], in[1], true, o); return std::vector<Tensor>{g.dx, g.dweight, g.dbias}; });
  }
}

TEST(activation_gradients) {
  std::mt19937 rng(7);
  for (Activation a : {Activation::Gelu, Activation::Silu, Activation::Sigmoid})
    gradcheck("activation", {random_tensor({3, 4, 5}, rng, 2.0)},
              [a](auto& in) { return activation(a, in[0]); },
              [a](auto& in, auto& dy) { return std::vector<Tensor>{activation_backward(a, dy, in[0])}; });
}

TEST(softmax_gradients) {
  std::mt19937 rng(8);
  for (Shape s : {Shape{3, 5}, Shape{2, 1, 17}})
    gradcheck("softmax", {random_tensor(s, rng)}, [](auto& in) { return softmax(in[0]); },
              [](auto& in, auto& dy) { return std::vector<Tensor>{softmax_backward(dy, softmax(in[0]))}; });
}

TEST(batch_norm_gradients) {
  std::mt19937 rng(9);
  for (bool training : {true, false}) {
    auto run = [training](const std::vector<Tensor>& in) {
      Tensor rm = Tensor::zeros({3}, DType::F64), rv = Tensor::from_vector(std::vector<double>{1, 2, 0.5}, {3});
      return batch_norm(in[0], in[1], in[2], rm, rv, training);
    };
    gradcheck("batch_norm", {random_tensor({2, 3, 4, 3}, rng), random_tensor({3}, rng), random_tensor({3}, rng)},
              [run](auto& in) { return run(in).y; },
              [run, training](auto& in, auto& dy) {
                BatchNormOutput out = run(in);
                NormGrads g = batch_norm_backward(dy, in[0], in[1], out.mean, out.invstd, training);
                return std::vector<Tensor>{g.dx, g.dweight, g.dbias};
              });
  }
}

TEST(layer_norm_gradients) {
  std::mt19937 rng(10);
  // 9×8 positions: a whole block of 64 and a partial one on the channels path.
  for (auto [axis, shape] : {std::pair{LayerNormAxis::Channels, Shape{2, 4, 3, 2}}, {LayerNormAxis::Channels, Shape{2, 3, 9, 8}},
                             {LayerNormAxis::Last, Shape{3, 2, 5}}}) {
    int64_t c = axis == LayerNormAxis::Channels ? shape[1] : shape.back();
    gradcheck("layer_norm", {random_tensor(shape, rng), random_tensor({c}, rng), random_tensor({c}, rng)},
              [axis = axis](auto& in) { return layer_norm(in[0], in[1], in[2], axis).y; },
              [axis = axis](auto& in, auto& dy) {
                LayerNormOutput out = layer_norm(in[0], in[1], in[2], axis);
                NormGrads g = layer_norm_backward(dy, in[0], in[1], out.mean, out.invstd, axis);
                return std::vector<Tensor>{g.dx, g.dweight, g.dbias};
              });
  }
}

TEST(pooling_gradients) {
  std::mt19937 rng(11);
  gradcheck("avg_pool2d", {random_tensor({2, 2, 7, 6}, rng)}, [](auto& in) { return avg_pool2d(in[0], 3, 2, 1); },
            [](auto& in, auto& dy) { return std::vector<Tensor>{avg_pool2d_backward(dy, in[0], 3, 2, 1)}; });
  // Distinct values: finite differences are undefined at ties.
  for (Shape shape : {Shape{2, 2, 6, 7}, Shape{1, 2, 5, 6}})  // an odd last column, an odd last row
    gradcheck("max_pool2d", {random_tensor(shape, rng)}, [](auto& in) { return max_pool2d(in[0], 2, 2); },
              [](auto& in, auto& dy) { return std::vector<Tensor>{max_pool2d_backward(dy, in[0], 2, 2)}; });
  gradcheck("global_avg_pool", {random_tensor({2, 3, 4, 5}, rng)}, [](auto& in) { return global_avg_pool(in[0]); },
            [](auto& in, auto& dy) { return std::vector<Tensor>{global_avg_pool_backward(dy, in[0])}; });
  gradcheck("channel_mean", {random_tensor({2, 3, 4, 5}, rng)}, [](auto& in) { return channel_mean(in[0]); },
            [](auto& in, auto& dy) { return std::vector<Tensor>{channel_mean_backward(dy, in[0])}; });
  gradcheck("channel_max", {random_tensor({2, 3, 4, 5}, rng)}, [](auto& in) { return channel_max(in[0]); },
            [](auto& in, auto& dy) { return std::vector<Tensor>{channel_max_backward(dy, in[0])}; });
}

TEST(upsample_and_layout_gradients) {
  std::mt19937 rng(12);
  for (Shape s : {Shape{1, 2, 3, 5}, Shape{2, 1, 1, 2}, Shape{1, 2, 2, 1}})
    gradcheck("upsample2x", {random_tensor(s, rng)}, [](auto& in) { return upsample2x(in[0]); },
              [](auto& in, auto& dy) { return std::vector<Tensor>{upsample2x_backward(dy, in[0])}; });
  gradcheck("concat_channels", {random_tensor({2, 2, 3, 2}, rng), random_tensor({2, 3, 3, 2}, rng)},
            [](auto& in) { return concat_channels({in[0], in[1]}); },
            [](auto&, auto& dy) { return std::vector<Tensor>{slice_channels(dy, 0, 2), slice_channels(dy, 2, 5)}; });
  gradcheck("slice_channels", {random_tensor({2, 5, 2, 2}, rng)}, [](auto& in) { return slice_channels(in[0], 1, 4); },
            [](auto& in, auto& dy) { return std::vector<Tensor>{slice_channels_backward(dy, in[0].shape(), 1)}; });
  gradcheck("window_partition", {random_tensor({2, 3, 4, 6}, rng)}, [](auto& in) { return window_partition(in[0], 2, 3); },
            [](auto&, auto& dy) { return std::vector<Tensor>{window_merge(dy, 2, 4, 6, 2, 3)}; });
}

TEST(loss_gradients) {
  std::mt19937 rng(13);
  Tensor targets = Tensor::from_vector(std::vector<int32_t>{0, 1, 1, 2, 0, 2, 1, 0, 2, 2, 1, 0}, {2, 2, 3});
  Tensor dloss = Tensor::from_vector(std::vector<double>{1.3}, {});
  gradcheck("cross_entropy", {random_tensor({2, 3, 2, 3}, rng)},
            [&](auto& in) { return mul(cross_entropy(in[0], targets), dloss); },
            [&](auto& in, auto& dy) { return std::vector<Tensor>{cross_entropy_backward(in[0], targets, mul(dy, dloss))}; });
  gradcheck("dice_loss", {random_tensor({2, 3, 2, 3}, rng)}, [&](auto& in) { return dice_loss(in[0], targets); },
            [&](auto& in, auto& dy) { return std::vector<Tensor>{dice_loss_backward(in[0], targets, dy)}; });
}

TEST(deform_conv2d_gradients) {
  std::mt19937 rng(14);
  struct Case { Shape x, w; int64_t offset_groups; bool mask; DeformConv2dOptions o; };
  std::vector<Case> cases = {
      {{1, 3, 5, 4}, {3, 1, 3, 3}, 1, false, {1, 1, 1, 1, 1, 1, 3}},  // depthwise, one offset group (DDLK)
      {{2, 4, 5, 5}, {2, 2, 3, 3}, 2, true, {2, 2, 1, 1, 1, 1, 2}},   // grouped, offset groups, mask, stride
      {{1, 2, 6, 5}, {2, 2, 3, 2}, 1, true, {1, 1, 2, 1, 2, 1, 1}},   // non-square, dilation
  };
  for (const Case& c : cases) {
    DeformConv2dOptions o = c.o;
    int64_t kh = c.w[2], kw = c.w[3];
    int64_t ho = (c.x[2] + 2 * o.pad_h - o.dilation_h * (kh - 1) - 1) / o.stride_h + 1;
    int64_t wo = (c.x[3] + 2 * o.pad_w - o.dilation_w * (kw - 1) - 1) / o.stride_w + 1;
    std::vector<Tensor> inputs = {random_tensor(c.x, rng), random_tensor({c.x[0], 2 * c.offset_groups * kh * kw, ho, wo}, rng, 1.5),
                                  random_tensor(c.w, rng), random_tensor({c.w[0]}, rng)};
    if (c.mask) inputs.push_back(random_tensor({c.x[0], c.offset_groups * kh * kw, ho, wo}, rng));
    gradcheck("deform_conv2d", inputs,
              [o](auto& in) { return deform_conv2d(in[0], in[1], in[2], in[3], in.size() > 4 ? in[4] : Tensor(), o); },
              [o](auto& in, auto& dy) {
                DeformConv2dGrads g = deform_conv2d_backward(dy, in[0], in[1], in[2], in.size() > 4 ? in[4] : Tensor(), true, o);
                return std::vector<Tensor>{g.dx, g.doffset, g.dweight, g.dbias, g.dmask};
              });
  }
}

TEST(attention_gradients) {
  std::mt19937 rng(15);
  for (auto [wh, ww, c, heads] : {std::tuple{2, 3, 4, 2}, {3, 2, 3, 1}}) {
    int64_t windows = 2, n = wh * ww;
    auto run = [=](const std::vector<Tensor>& in) { return attention(in[0], in[1], in[2], in[3], wh, ww, heads, 0.7); };
    gradcheck("attention", {random_tensor({windows, n, c}, rng), random_tensor({windows, n, c}, rng),
                            random_tensor({windows, n, c}, rng), random_tensor({heads, 2 * wh - 1, 2 * ww - 1}, rng)},
              [=](auto& in) { return run(in).out; },
              [=](auto& in, auto& dy) {
                AttentionGrads g = attention_backward(dy, in[0], in[1], in[2], in[3], run(in), wh, ww, heads, 0.7);
                return std::vector<Tensor>{g.dq, g.dk, g.dv, g.drel_pos};
              });
  }
}

// The harness itself must be able to fail: a deliberately wrong backward is caught.
TEST(gradcheck_catches_a_wrong_backward) {
  std::mt19937 rng(6);
  int before = failures();
  expecting_failures() = true;
  gradcheck("mul with a wrong gradient", {random_tensor({3, 4}, rng), random_tensor({3, 4}, rng)},
            [](auto& in) { return mul(in[0], in[1]); },
            [](auto& in, auto& dy) { auto g = add_backward(dy, in[0], in[1]); return std::vector<Tensor>{g.da, g.db}; });
  expecting_failures() = false;
  bool caught = failures() > before;
  failures() = before;
  CHECK(caught);
}

int main() { return run_all(); }
