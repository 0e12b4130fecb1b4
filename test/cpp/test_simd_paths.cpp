// The CPU kernels built for AVX2 (and AVX-512) against the portable ones
// (DMDLK_SIMD=portable), which such machines otherwise never run (the GEMM's
// pair: test_gemm).
// DDLK's deformable convolution: planar (any type and channel count; the
// one the double-precision gradient checks cover) against channels last with
// AVX2 (float, channels a multiple of 8): the output and every gradient, with
// sample points inside, on and beyond every border, batches of one (rows
// split into slices) and more, and channel counts that leave a tail after
// the 32-channel blocks. The activations, built for AVX2 and for AVX-512:
// forward and backward, element by element, over a range that reaches both
// clamps of fast_exp, and NaN. On arm64, the NEON GEMM kernel against the
// portable one (test_gemm runs it against a naive product too), every tile
// height, with its time under emulation as a sanity figure only.
#include <chrono>
#include <random>

#include "core/cpu_features.h"
#include "gradcheck.h"
#include "ops/activation.h"
#include "ops/deform_conv2d.h"
#include "ops/matmul.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

struct Layer {
  int64_t batch, channels, height, width, kernel, dilation;
};

// in: x, offset, weight, dy.
std::vector<Tensor> run(const std::vector<Tensor>& in, const DeformConv2dOptions& o) {
  Tensor y = deform_conv2d(in[0], in[1], in[2], Tensor(), Tensor(), o);
  DeformConv2dGrads g = deform_conv2d_backward(in[3], in[0], in[1], in[2], Tensor(), false, o);
  return {y, g.dx, g.doffset, g.dweight};
}

}  // namespace

TEST(channels_last_matches_planar) {
  if (!(cpu_features().avx2 && cpu_features().fma)) {
    std::printf("    (this CPU has no AVX2: only the planar kernels exist here)\n");
    return;
  }
  std::mt19937 rng(3);
  for (const Layer& c : std::vector<Layer>{{1, 8, 9, 11, 3, 1}, {3, 40, 12, 10, 5, 1}, {2, 32, 14, 13, 7, 3}}) {
    DeformConv2dOptions o;
    o.pad_h = o.pad_w = c.dilation * (c.kernel - 1) / 2;
    o.dilation_h = o.dilation_w = c.dilation;
    o.groups = c.channels;
    int64_t taps = c.kernel * c.kernel;
    Tensor offset = random_tensor({c.batch, 2 * taps, c.height, c.width}, rng, 3.0, DType::F32);
    float* off = offset.data<float>();
    for (int64_t i = 0; i < offset.numel(); i += 7)
      off[i] = float(int64_t(off[i]));  // integer points: on corners and borders
    std::vector<Tensor> in = {random_tensor({c.batch, c.channels, c.height, c.width}, rng, 1.0, DType::F32), offset,
                              random_tensor({c.channels, 1, c.kernel, c.kernel}, rng, 0.3, DType::F32),
                              random_tensor({c.batch, c.channels, c.height, c.width}, rng, 1.0, DType::F32)};
    CHECK(cap_simd_level("avx2"));
    std::vector<Tensor> fast = run(in, o);
    CHECK(cap_simd_level("portable"));
    std::vector<Tensor> planar = run(in, o);
    const char* names[] = {"y", "dx", "doffset", "dweight"};
    for (size_t k = 0; k < fast.size(); ++k) {
      double worst = closeness(fast[k], planar[k], 1e-4, 1e-4);
      if (!(worst <= 1))
        fail(__FILE__, __LINE__,
             concat(names[k], " for ", c.channels, " channels, ", c.kernel, "×", c.kernel, ", batch ", c.batch,
                    ": off by ", worst, "× the tolerance"));
    }
  }
  CHECK(cap_simd_level("avx512"));
}

TEST(activations_avx2_and_avx512_match_portable) {
  if (!(cpu_features().avx2 && cpu_features().fma)) {
    std::printf("    (this CPU has no AVX2: only the portable kernels exist here)\n");
    return;
  }
  std::vector<const char*> levels = {"avx2"};
  if (cpu_features().avx512f) levels.push_back("avx512");
  else std::printf("    (this CPU has no AVX-512: its activations are not checked here)\n");
  std::vector<float> values;
  for (int i = -4000; i <= 4000; ++i) values.push_back(i * 0.025f);  // -100 … 100
  Tensor x = Tensor::from_vector(values, {int64_t(values.size())});
  Tensor nan = Tensor::from_vector(std::vector<float>{NAN}, {1});
  std::mt19937 rng(9);
  Tensor dy = random_tensor(x.shape(), rng, 1.0, DType::F32);
  for (const char* level : levels)
    for (Activation a : {Activation::Gelu, Activation::Silu, Activation::Sigmoid}) {
      CHECK(cap_simd_level(level));
      Tensor fast = activation(a, x), fast_grad = activation_backward(a, dy, x);
      CHECK(std::isnan(activation(a, nan).data<float>()[0]) &&
            std::isnan(activation_backward(a, nan, nan).data<float>()[0]));
      CHECK(cap_simd_level("portable"));
      Tensor portable = activation(a, x), portable_grad = activation_backward(a, dy, x);
      CHECK(closeness(fast, portable, 1e-6, 1e-6) <= 1);
      CHECK(closeness(fast_grad, portable_grad, 1e-6, 1e-6) <= 1);
    }
  CHECK(cap_simd_level("avx512"));
}

TEST(neon_gemm_matches_portable) {
  if (!cpu_features().neon) {
    std::printf("    (this CPU has no NEON: only the x86 and portable kernels exist here)\n");
    return;
  }
  CHECK_EQ(std::string(simd_level()), std::string("neon"));
  std::mt19937 rng(5);
  // Rows 1…8 past a multiple of the kernel's 8, columns past a multiple of its 8, a long depth.
  for (int64_t m : {1, 7, 8, 13, 64, 203})
    for (int64_t n : {3, 8, 29}) {
      Tensor a = random_tensor({m, 67}, rng, 1.0, DType::F32), b = random_tensor({67, n}, rng, 1.0, DType::F32);
      CHECK(cap_simd_level("neon"));
      Tensor fast = matmul(a, b);
      CHECK(cap_simd_level("portable"));
      Tensor portable = matmul(a, b);
      if (!(closeness(fast, portable, 1e-4, 1e-4) <= 1))
        fail(__FILE__, __LINE__, concat("matmul ", m, "×67 by 67×", n, ": NEON differs from portable"));
    }
  Tensor a = random_tensor({256, 256}, rng, 1.0, DType::F32), b = random_tensor({256, 256}, rng, 1.0, DType::F32);
  auto time = [&](const char* level) {
    CHECK(cap_simd_level(level));
    auto start = std::chrono::steady_clock::now();
    matmul(a, b);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  };
  double neon = time("neon"), portable = time("portable");
  std::printf("    256³ product: NEON %.0f ms, portable %.0f ms (under emulation: a sanity figure, not a benchmark)\n",
              neon, portable);
  CHECK(cap_simd_level("neon"));
}

int main() { return run_all(); }
