// Every op on CUDA against the CPU, forward and backward, on the same random
// inputs. Where there is no GPU it prints why and exits with 77, which CTest
// reports as skipped (not passed).
#include <cmath>
#include <random>

#include "core/cuda_runtime.h"
#include "core/matmul_precision.h"
#include "data/augment.h"
#include "gradcheck.h"
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

using Run = std::function<std::vector<Tensor>(const std::vector<Tensor>&)>;

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
    if (got[i].device() != Device::cuda(0)) fail(__FILE__, __LINE__, concat(label, ": output ", i, " is not on the GPU"));
    double worst = closeness(got[i], want[i], rms_scaled ? tol * rms(want[i]) : tol, tol);
    if (!(worst <= 1)) fail(__FILE__, __LINE__, concat(label, ": output ", i, " off by ", worst, "× the tolerance"));
  }
}

std::mt19937 rng(2026);
Tensor r(const Shape& s, double scale = 1.0) { return random_tensor(s, rng, scale, DType::F32); }

}  // namespace

TEST(binary_ops) {
  for (auto [sa, sb] : {std::pair{Shape{2, 3, 5, 7}, Shape{3, 1, 1}}, {Shape{64, 56, 56}, Shape{64, 56, 56}}}) {
    parity("add/mul", {r(sa), r(sb), r(broadcast_shape(sa, sb, ""))}, [](auto& in) {
      BinaryGrads ga = add_backward(in[2], in[0], in[1]), gm = mul_backward(in[2], in[0], in[1]);
      return std::vector<Tensor>{add(in[0], in[1]), mul(in[0], in[1]), ga.da, ga.db, gm.da, gm.db};
    });
  }
}

TEST(matmul_and_linear) {
  for (auto [sa, sb] : {std::pair{Shape{3, 70, 90}, Shape{3, 90, 65}}, {Shape{2, 3, 13, 17}, Shape{17, 11}}, {Shape{512, 512}, Shape{512, 512}}}) {
    parity("matmul", {r(sa), r(sb)}, [](auto& in) {
      Tensor y = matmul(in[0], in[1]);
      MatmulGrads g = matmul_backward(y, in[0], in[1]);
      return std::vector<Tensor>{y, g.da, g.db};
    }, 1e-3);
  }
  parity("linear", {r({4, 196, 128}), r({384, 128}, 0.1), r({384})}, [](auto& in) {
    Tensor y = linear(in[0], in[1], in[2]);
    LinearGrads g = linear_backward(y, in[0], in[1], true);
    return std::vector<Tensor>{y, g.dx, g.dweight, g.dbias};
  }, 1e-3);
}

// Every convolution form of the network (the stem, 1×1, depthwise, DDLK's
// dilated offset convolution, a small dense one).
void check_conv2d_forms(double tol, bool rms_scaled) {
  struct Case { Shape x, w; Conv2dOptions o; };
  for (const Case& c : std::vector<Case>{{{2, 3, 64, 64}, {32, 3, 3, 3}, {2, 2, 1, 1, 1, 1, 1}},
                                          {{2, 32, 32, 32}, {128, 32, 1, 1}, {}},
                                          {{2, 128, 32, 32}, {128, 1, 3, 3}, {2, 2, 1, 1, 1, 1, 128}},
                                          {{1, 32, 28, 28}, {98, 32, 7, 7}, {1, 1, 9, 9, 3, 3, 1}},
                                          {{2, 2, 56, 56}, {2, 2, 7, 7}, {1, 1, 3, 3, 1, 1, 1}}}) {
    Conv2dOptions o = c.o;
    parity("conv2d", {r(c.x), r(c.w, 0.2), r({c.w[0]})}, [o](auto& in) {
      Tensor y = conv2d(in[0], in[1], in[2], o);
      Conv2dGrads g = conv2d_backward(y, in[0], in[1], true, o);
      return std::vector<Tensor>{y, g.dx, g.dweight, g.dbias};
    }, tol, rms_scaled);
  }
}

TEST(conv2d_forms) { check_conv2d_forms(1e-3, false); }

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
    for (auto [sa, sb] : {std::pair{Shape{3, 70, 90}, Shape{3, 90, 65}}, {Shape{2, 3, 13, 17}, Shape{17, 11}}, {Shape{512, 512}, Shape{512, 512}}}) {
      parity("matmul", {r(sa), r(sb)}, [](auto& in) {
        Tensor y = matmul(in[0], in[1]);
        MatmulGrads g = matmul_backward(y, in[0], in[1]);
        return std::vector<Tensor>{y, g.da, g.db};
      }, p == MatmulPrecision::High ? 1e-2 : 4e-2, true);
    }
    parity("linear", {r({4, 196, 128}), r({384, 128}, 0.1), r({384})}, [](auto& in) {
      Tensor y = linear(in[0], in[1], in[2]);
      LinearGrads g = linear_backward(y, in[0], in[1], true);
      return std::vector<Tensor>{y, g.dx, g.dweight, g.dbias};
    }, p == MatmulPrecision::High ? 1e-2 : 4e-2, true);
    check_conv2d_forms(p == MatmulPrecision::High ? 1e-2 : 4e-2, true);
  }
  set_matmul_precision(MatmulPrecision::Highest);
  CHECK_EQ(matmul(a, one).to(Device::cpu()).to_vector<float>()[0], just_above_one);
}

TEST(activations_and_softmax) {
  for (Activation a : {Activation::Gelu, Activation::Silu, Activation::Sigmoid})
    parity("activation", {r({4, 64, 28, 28}, 3), r({4, 64, 28, 28})}, [a](auto& in) {
      return std::vector<Tensor>{activation(a, in[0]), activation_backward(a, in[1], in[0])};
    });
  for (Shape s : {Shape{8, 4, 49, 49}, Shape{2, 1, 3136}})
    parity("softmax", {r(s, 3), r(s)}, [](auto& in) {
      Tensor y = softmax(in[0]);
      return std::vector<Tensor>{y, softmax_backward(in[1], y)};
    });
}

TEST(normalization) {
  for (bool training : {true, false})
    parity("batch_norm", {r({4, 32, 28, 28}, 2), r({32}), r({32}), r({4, 32, 28, 28}), r({32}, 0.1), r({32}, 0.1)},
           [training](auto& in) {
             Tensor rm = in[4].clone(), rv = add(mul(in[5], in[5]), mul(in[5], in[5]));  // variances > 0
             BatchNormOutput out = batch_norm(in[0], in[1], in[2], rm, rv, training);
             NormGrads g = batch_norm_backward(in[3], in[0], in[1], out.mean, out.invstd, training);
             return std::vector<Tensor>{out.y, g.dx, g.dweight, g.dbias, rm, rv};
           }, 1e-3);
  for (auto [axis, s] : {std::pair{LayerNormAxis::Channels, Shape{2, 64, 14, 14}}, {LayerNormAxis::Last, Shape{8, 49, 128}}}) {
    int64_t c = axis == LayerNormAxis::Channels ? s[1] : s.back();
    parity("layer_norm", {r(s), r({c}), r({c}), r(s)}, [axis = axis](auto& in) {
      LayerNormOutput out = layer_norm(in[0], in[1], in[2], axis);
      NormGrads g = layer_norm_backward(in[3], in[0], in[1], out.mean, out.invstd, axis);
      return std::vector<Tensor>{out.y, g.dx, g.dweight, g.dbias};
    }, 1e-3);
  }
}

TEST(pooling_upsampling_and_layout) {
  Tensor x = r({4, 32, 56, 55}), ties = r({4, 32, 56, 56});
  parity("avg_pool2d", {x, r({4, 32, 28, 28})}, [](auto& in) {
    return std::vector<Tensor>{avg_pool2d(in[0], 3, 2, 1), avg_pool2d_backward(in[1], in[0], 3, 2, 1)};
  });
  parity("max_pool2d", {ties, r({4, 32, 28, 28})}, [](auto& in) {
    return std::vector<Tensor>{max_pool2d(in[0], 2, 2), max_pool2d_backward(in[1], in[0], 2, 2)};
  });
  parity("reductions", {x, r({4, 32, 1, 1}), r({4, 1, 56, 55})}, [](auto& in) {
    return std::vector<Tensor>{global_avg_pool(in[0]), global_avg_pool_backward(in[1], in[0]), channel_mean(in[0]),
                               channel_mean_backward(in[2], in[0]), channel_max(in[0]), channel_max_backward(in[2], in[0])};
  });
  parity("upsample2x", {r({2, 64, 28, 27}), r({2, 64, 56, 54})}, [](auto& in) {
    return std::vector<Tensor>{upsample2x(in[0]), upsample2x_backward(in[1], in[0])};
  });
  parity("layout", {r({2, 64, 28, 28}), r({2, 32, 28, 28})}, [](auto& in) {
    Tensor cat = concat_channels({in[0], in[1]}), windows = window_partition(in[0], 7, 7);
    return std::vector<Tensor>{cat, slice_channels(cat, 10, 70), slice_channels_backward(in[1], in[0].shape(), 5),
                               windows, window_merge(windows, 2, 28, 28, 7, 7), permute(in[0], {0, 2, 3, 1})};
  });
}

TEST(losses_and_adam) {
  std::vector<int32_t> labels(size_t(4 * 112 * 112));
  for (size_t i = 0; i < labels.size(); ++i) labels[i] = int32_t((i * 7919) % 3 == 0);
  Tensor targets = Tensor::from_vector(labels, {4, 112, 112});
  Tensor dloss = Tensor::from_vector(std::vector<float>{0.5f}, {});
  parity("losses", {r({4, 2, 112, 112}, 2), targets, dloss}, [](auto& in) {
    return std::vector<Tensor>{cross_entropy(in[0], in[1]), cross_entropy_backward(in[0], in[1], in[2]),
                               dice_loss(in[0], in[1]), dice_loss_backward(in[0], in[1], in[2])};
  }, 1e-3);
  parity("adam", {r({100000}), r({100000}), r({100000}, 0.1), r({100000}, 0.1)}, [](auto& in) {
    Tensor p = in[0].clone(), m = in[2].clone(), v = mul(in[3], in[3]);
    AdamOptions o;
    o.lr = 1e-3, o.step = 7, o.weight_decay = 0.01;
    adam_step(p, in[1], m, v, o);
    return std::vector<Tensor>{p, m, v};
  });
}

TEST(deform_conv2d_forms) {
  // DDLK's two depthwise convolutions at decoder level 3, then a general grouped, masked, strided case.
  struct Case { Shape x, w; int64_t offset_groups; bool mask; DeformConv2dOptions o; };
  for (const Case& c : std::vector<Case>{{{2, 64, 56, 56}, {64, 1, 5, 5}, 1, false, {1, 1, 2, 2, 1, 1, 64}},
                                          {{2, 64, 56, 56}, {64, 1, 7, 7}, 1, false, {1, 1, 9, 9, 3, 3, 64}},
                                          {{2, 16, 30, 31}, {24, 8, 3, 3}, 4, true, {2, 2, 1, 1, 1, 1, 2}}}) {
    DeformConv2dOptions o = c.o;
    int64_t k = c.w[2], ho = (c.x[2] + 2 * o.pad_h - o.dilation_h * (k - 1) - 1) / o.stride_h + 1;
    int64_t wo = (c.x[3] + 2 * o.pad_w - o.dilation_w * (k - 1) - 1) / o.stride_w + 1;
    std::vector<Tensor> in = {r(c.x), r({c.x[0], 2 * c.offset_groups * k * k, ho, wo}, 3.0), r(c.w, 0.2), r({c.w[0]}),
                              r({c.x[0], c.w[0], ho, wo})};
    if (c.mask) in.push_back(r({c.x[0], c.offset_groups * k * k, ho, wo}));
    parity("deform_conv2d", in, [o](auto& in) {
      Tensor mask = in.size() > 5 ? in[5] : Tensor();
      DeformConv2dGrads g = deform_conv2d_backward(in[4], in[0], in[1], in[2], mask, true, o);
      return std::vector<Tensor>{deform_conv2d(in[0], in[1], in[2], in[3], mask, o), g.dx, g.doffset, g.dweight, g.dbias, g.dmask};
    }, 1e-3);
  }
}

TEST(attention_windowed_and_global) {
  // MOAT's windows (14×14, 64 channels, 2 heads) and global attention at level 4 (28×28, 128 channels, 4 heads).
  for (auto [windows, wh, ww, c, heads] : {std::tuple{8, 14, 14, 64, 2}, {2, 28, 28, 128, 4}}) {
    int64_t n = wh * ww;
    parity("attention", {r({windows, n, c}), r({windows, n, c}), r({windows, n, c}), r({heads, 2 * wh - 1, 2 * ww - 1}),
                         r({windows, n, c})},
           [=](auto& in) {
             AttentionOutput out = attention(in[0], in[1], in[2], in[3], wh, ww, heads, 0.17677669529);
             AttentionGrads g = attention_backward(in[4], in[0], in[1], in[2], in[3], out, wh, ww, heads, 0.17677669529);
             return std::vector<Tensor>{out.out, out.logsumexp, g.dq, g.dk, g.dv, g.drel_pos};
           }, 1e-3);
  }
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
  parity("resize_bilinear", {r({2, 2, 448, 448})}, [](auto& in) { return std::vector<Tensor>{resize_bilinear(in[0], 1003, 517)}; });
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
