// cpu_ops::gemm against a naive triple loop, for both transposes, alpha/beta,
// batches with shared operands, and sizes around every blocking boundary
// (micro-tile 6×16 / 4×8, panel depth 256, tile 72×192, panel width 3072),
// small products strip by strip and large ones in whole panels.
#include <random>

#include "core/cpu_features.h"
#include "gradcheck.h"
#include "ops/gemm.h"
#include "ops/im2col.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

template <typename T>
void naive(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  for (int64_t q = 0; q < s.batch; ++q)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        double sum = 0;
        for (int64_t p = 0; p < s.k; ++p) {
          double av = s.trans_a ? a[q * s.stride_a + p * s.lda + i] : a[q * s.stride_a + i * s.lda + p];
          double bv = s.trans_b ? b[q * s.stride_b + j * s.ldb + p] : b[q * s.stride_b + p * s.ldb + j];
          sum += av * bv;
        }
        T& out = c[q * s.stride_c + i * s.ldc + j];
        out = T(alpha * sum + (beta == T(0) ? 0.0 : double(beta) * out));
      }
}

template <typename T>
void check_shape(int64_t m, int64_t n, int64_t k, bool ta, bool tb, int64_t batch, bool shared_b, T alpha, T beta,
                 double tol, bool with_bias = false) {
  std::mt19937 rng(static_cast<uint32_t>(m * 131 + n * 17 + k));
  GemmShape s;
  s.m = m, s.n = n, s.k = k, s.trans_a = ta, s.trans_b = tb, s.batch = batch;
  s.lda = ta ? m + 1 : k + 2;  // pitches wider than the matrices, as for slices
  s.ldb = tb ? k + 3 : n + 1;
  s.ldc = n + 2;
  s.stride_a = (ta ? k : m) * s.lda;
  s.stride_b = shared_b ? 0 : (tb ? n : k) * s.ldb;
  s.stride_c = m * s.ldc;
  DType dt = dtype_of<T>::value;
  Tensor a = random_tensor({std::max<int64_t>(1, batch * s.stride_a)}, rng, 1.0, dt);
  Tensor b = random_tensor({std::max<int64_t>(1, shared_b ? (tb ? n : k) * s.ldb : batch * s.stride_b)}, rng, 1.0, dt);
  Tensor c = random_tensor({std::max<int64_t>(1, batch * s.stride_c)}, rng, 1.0, dt);
  Tensor expected = c.clone();
  Tensor bias = random_tensor({batch * m}, rng, 1.0, dt);
  cpu_ops::gemm<T>(s, alpha, a.data<T>(), b.data<T>(), beta, c.data<T>(), with_bias ? bias.data<T>() : nullptr);
  naive<T>(s, alpha, a.data<T>(), b.data<T>(), beta, expected.data<T>());
  if (with_bias)
    for (int64_t q = 0; q < batch; ++q)
      for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) expected.data<T>()[q * s.stride_c + i * s.ldc + j] += bias.data<T>()[q * m + i];
  double worst = closeness(c, expected, tol, tol);
  if (!(worst <= 1))
    fail(__FILE__, __LINE__,
         concat("gemm m=", m, " n=", n, " k=", k, " ta=", ta, " tb=", tb, " batch=", batch,
                with_bias ? " with a row bias" : "", ": off by ", worst, "× the tolerance"));
}

}  // namespace

TEST(gemm_float_matches_naive) {
  for (int64_t m : {1, 5, 6, 7, 73, 150})
    for (int64_t n : {1, 15, 16, 17, 193, 400})
      for (int64_t k : {1, 9, 257})
        for (int t = 0; t < 4; ++t) check_shape<float>(m, n, k, t & 1, t & 2, 1, false, 1.0f, 0.0f, 1e-4);
}

TEST(gemm_double_alpha_beta_and_batches) {
  for (int t = 0; t < 4; ++t) {
    check_shape<double>(13, 11, 300, t & 1, t & 2, 3, false, 0.5, 1.0, 1e-10);
    check_shape<double>(9, 20, 7, t & 1, t & 2, 2, true, -2.0, 0.25, 1e-10);
  }
}

TEST(gemm_long_depth_split_across_threads) {
  // Small C, long K: the shape of convolution weight gradients, computed in depth slices.
  for (int t = 0; t < 4; ++t) {
    check_shape<float>(7, 9, 5000, t & 1, t & 2, 1, false, 1.0f, 0.0f, 1e-3);
    check_shape<double>(33, 20, 4500, t & 1, t & 2, 2, false, 0.5, 0.75, 1e-10);
  }
}

TEST(gemm_large_products_in_whole_panels) {
  // Beyond 512³ multiply-adds with many rows: A and B packed a panel at a time by all threads.
  for (int t = 0; t < 4; ++t) check_shape<float>(200, 700, 1000, t & 1, t & 2, 1, false, 1.0f, 0.0f, 1e-3, t == 3);
}

TEST(gemm_wide_panels) {
  check_shape<float>(8, 3100, 40, false, false, 1, false, 1.0f, 0.0f, 1e-4);  // strip by strip
  check_shape<float>(120, 3100, 400, false, true, 1, false, 1.0f, 0.0f,
                     1e-3);  // whole panels: crosses the 3072-column one
}

// The bias epilogue on every path: strips (few rows), whole panels (many
// rows, several depth panels), a split depth, an empty depth, batches.
TEST(gemm_row_bias_epilogue) {
  for (int t = 0; t < 4; ++t) {
    check_shape<float>(50, 300, 600, t & 1, t & 2, 1, false, 1.0f, 0.0f, 1e-4, true);
    check_shape<float>(150, 200, 300, t & 1, t & 2, 2, false, 1.0f, 0.5f, 1e-4, true);
    check_shape<double>(7, 9, 5000, t & 1, t & 2, 1, false, 1.0, 0.0, 1e-10, true);
    check_shape<double>(5, 6, 0, t & 1, t & 2, 2, false, 1.0, 0.0, 1e-10, true);
  }
}

TEST(gemm_beta_zero_ignores_nan_in_c) {
  GemmShape s;
  s.m = 2, s.n = 2, s.k = 1, s.lda = 1, s.ldb = 2, s.ldc = 2;
  float a[2] = {1, 2}, b[2] = {3, 4}, c[4] = {NAN, NAN, NAN, NAN};
  cpu_ops::gemm<float>(s, 1.0f, a, b, 0.0f, c);
  CHECK(c[0] == 3 && c[1] == 4 && c[2] == 6 && c[3] == 8);
}

// cpu_ops::gemm_columns gathers the im2col matrix while packing: it must equal
// cpu_ops::gemm on the stored matrix, for both orientations, per-strip and
// whole-panel packing (rows of C ≤ / > 144), split depths, groups as batch
// items, strides, dilations, padding beyond the kernel, and rows of fewer
// pixels than a strip.
template <typename T>
void check_columns(ConvGeometry g, int64_t groups, int64_t m, double tol) {
  std::mt19937 rng(static_cast<uint32_t>(g.channels * 7 + g.width + m));
  g.out_h = (g.height + 2 * g.pad_h - g.dilation_h * (g.kernel_h - 1) - 1) / g.stride_h + 1;
  g.out_w = (g.width + 2 * g.pad_w - g.dilation_w * (g.kernel_w - 1) - 1) / g.stride_w + 1;
  int64_t rows = g.col_rows(), cols = g.col_cols(), image = g.channels * g.height * g.width;
  DType dt = dtype_of<T>::value;
  Tensor x = random_tensor({groups * image}, rng, 1.0, dt);
  Tensor col = Tensor::empty({groups * rows * cols}, dt);
  for (int64_t i = 0; i < groups; ++i) cpu_ops::im2col<T>(g, x.data<T>() + i * image, col.data<T>() + i * rows * cols);
  for (bool transposed : {false, true}) {
    GemmShape s;  // forward: [m, rows]·col; weight gradient: [m, cols]·colᵀ
    s.m = m, s.n = transposed ? rows : cols, s.k = transposed ? cols : rows, s.trans_b = transposed;
    s.lda = s.k, s.ldb = cols, s.ldc = s.n, s.batch = groups;
    s.stride_a = m * s.k, s.stride_b = rows * cols, s.stride_c = m * s.n;
    Tensor a = random_tensor({groups * s.stride_a}, rng, 1.0, dt);
    Tensor expected = random_tensor({groups * s.stride_c}, rng, 1.0, dt), got = expected.clone();
    Tensor bias = random_tensor({groups * m}, rng, 1.0, dt);  // the epilogue, as convolutions use it
    cpu_ops::gemm<T>(s, 1, a.data<T>(), col.data<T>(), 0.5, expected.data<T>(), bias.data<T>());
    s.stride_b = image;
    cpu_ops::gemm_columns<T>(s, 1, a.data<T>(), g, x.data<T>(), 0.5, got.data<T>(), bias.data<T>());
    double worst = closeness(got, expected, tol, tol);
    if (!(worst <= 1))
      fail(__FILE__, __LINE__,
           concat("gemm_columns ", g.channels, "×", g.height, "×", g.width, " k ", g.kernel_h, "×", g.kernel_w,
                  " m=", m, " transposed=", transposed, ": off by ", worst, "× the tolerance"));
  }
}

TEST(gemm_columns_match_stored_columns) {
  auto geo = [](int64_t c, int64_t h, int64_t w, int64_t kh, int64_t kw, int64_t stride, int64_t pad, int64_t dil) {
    ConvGeometry g;
    g.channels = c, g.height = h, g.width = w, g.kernel_h = kh, g.kernel_w = kw;
    g.stride_h = g.stride_w = stride, g.pad_h = g.pad_w = pad, g.dilation_h = g.dilation_w = dil;
    return g;
  };
  check_columns<float>(geo(3, 20, 21, 5, 5, 1, 2, 1), 1, 50, 1e-4);   // DDLK dlk1's offset conv, odd width
  check_columns<float>(geo(4, 23, 23, 7, 7, 1, 9, 3), 1, 98, 1e-4);   // dlk2's: taps reach past every border
  check_columns<float>(geo(2, 9, 7, 3, 3, 2, 1, 1), 2, 13, 1e-4);     // stride 2, groups, rows of 4 pixels
  check_columns<float>(geo(3, 12, 40, 3, 2, 1, 4, 1), 1, 150, 1e-4);  // padding wider than the kernel; C of 150 rows
  check_columns<double>(geo(2, 70, 80, 3, 3, 1, 1, 2), 1, 7, 1e-10);  // depth 5,304 pixels: split across threads
  check_columns<double>(geo(5, 6, 5, 1, 3, 1, 0, 1), 3, 4, 1e-10);
}

// Runs last (cases run in order): the portable float kernel, which AVX2 CPUs never use otherwise.
TEST(gemm_float_portable_kernel_matches_naive) {
  CHECK(cap_simd_level("portable"));
  CHECK_EQ(std::string(simd_level()), std::string("portable"));
  for (int t = 0; t < 4; ++t) {
    check_shape<float>(73, 193, 257, t & 1, t & 2, 1, false, 1.0f, 0.0f, 1e-4);
    check_shape<float>(5, 17, 9, t & 1, t & 2, 2, true, 0.5f, 1.0f, 1e-4);
  }
}

int main() { return run_all(); }
