// Tensors, devices, the thread pool, errors, and op argument validation.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <random>
#include <thread>

#include "core/cuda_runtime.h"
#include "core/index_divisor.h"
#include "core/matmul_precision.h"
#include "core/thread_pool.h"
#include "harness.h"
#include "ops/adam.h"
#include "ops/bias.h"
#include "ops/binary.h"
#include "ops/conv2d.h"
#include "ops/fast_math.h"
#include "ops/im2col.h"
#include "ops/layout.h"
#include "ops/losses.h"
#include "ops/matmul.h"
#include "ops/pooling.h"
#include "ops/tensor_list.h"

using namespace dmdlk;
using namespace dmdlk::test;

TEST(tensor_basics) {
  Tensor t = Tensor::from_vector(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  CHECK_EQ(t.numel(), 6);
  CHECK_EQ(t.rank(), 2);
  CHECK_EQ(t.dim(-1), 3);
  CHECK(t.device() == Device::cpu());
  CHECK_EQ(t.nbytes(), size_t(24));
  Tensor r = t.reshape({3, 2});
  CHECK(r.raw() == t.raw());  // a view
  Tensor c = t.clone();
  CHECK(c.raw() != t.raw());
  CHECK(c.to_vector<float>() == t.to_vector<float>());
  Tensor z = Tensor::zeros({4}, DType::I32);
  CHECK(z.to_vector<int32_t>() == std::vector<int32_t>(4, 0));
  CHECK_EQ(reinterpret_cast<uintptr_t>(t.raw()) % 64, uintptr_t(0));
}

TEST(tensor_errors) {
  Tensor t = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  CHECK_THROWS(t.reshape({3}), ErrorCode::Shape, "cannot reshape [2, 2]");
  CHECK_THROWS(t.data<double>(), ErrorCode::DType, "holds float32");
  CHECK_THROWS(t.dim(2), ErrorCode::Shape, "axis 2");
  CHECK_THROWS(Tensor::empty({2, -1}, DType::F32), ErrorCode::Shape, "negative");
  CHECK_THROWS(parse_device("gpu"), ErrorCode::Device, "'gpu'");
  CHECK(parse_device("cuda:1") == Device::cuda(1));
}

TEST(cuda_absence_is_reported_not_fatal) {
  const cuda::Availability& a = cuda::availability();
  if (a.available) {
    std::printf("    (a GPU is present: %s)\n", a.devices[0].name.c_str());
    return;
  }
  CHECK(!a.reason.empty());
  std::printf("    CUDA unavailable: %s\n", a.reason.c_str());
  CHECK_THROWS(Tensor::empty({2}, DType::F32, Device::cuda(0)), ErrorCode::NoGpu, "CUDA is unavailable");
}

TEST(thread_pool_covers_every_index_once) {
  std::vector<std::atomic<int>> hits(10007);
  parallel_for(0, 10007, 10, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) hits[i]++;
  });
  for (auto& h : hits) CHECK_EQ(h.load(), 1);
}

TEST(thread_pool_serves_concurrent_and_nested_callers) {
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int rep = 0; rep < 20; ++rep)
        parallel_for(0, 64, 1, [&](int64_t lo, int64_t hi) {
          for (int64_t i = lo; i < hi; ++i) parallel_for(0, 8, 1, [&](int64_t a, int64_t b) { total += b - a; });
        });
    });
  for (auto& c : callers) c.join();
  CHECK_EQ(total.load(), int64_t(4 * 20 * 64 * 8));
}

TEST(thread_pool_rethrows_the_first_error) {
  CHECK_THROWS(parallel_for(0, 100, 1,
                            [](int64_t lo, int64_t) {
                              if (lo >= 50) throw Error(ErrorCode::Internal, "chunk failed");
                            }),
               ErrorCode::Internal, "chunk failed");
}

TEST(ops_name_the_bad_operand) {
  Tensor x = Tensor::zeros({2, 3, 8, 8}, DType::F32);
  Tensor w = Tensor::zeros({4, 3, 3, 3}, DType::F32);
  CHECK_THROWS(conv2d(x, Tensor::zeros({4, 2, 3, 3}, DType::F32), Tensor(), {}), ErrorCode::Shape,
               "weight must have shape [4, 3, kh, kw]");
  CHECK_THROWS(conv2d(x.reshape({6, 8, 8}), w, Tensor(), {}), ErrorCode::Shape, "x must have rank 4");
  CHECK_THROWS(conv2d(x, w, Tensor::zeros({5}, DType::F32), {}), ErrorCode::Shape, "bias must have shape [4], got [5]");
  CHECK_THROWS(conv2d(x, Tensor::zeros({4, 3, 3, 3}, DType::F64), Tensor(), {}), ErrorCode::DType,
               "weight is float64 but x is float32");
  Conv2dOptions bad;
  bad.groups = 2;
  CHECK_THROWS(conv2d(x, w, Tensor(), bad), ErrorCode::Shape, "groups = 2 must divide");
  bad = {};
  bad.stride_h = 0;
  CHECK_THROWS(conv2d(x, w, Tensor(), bad), ErrorCode::InvalidArg, "stride must be >= 1");
  CHECK_THROWS(conv2d(Tensor::zeros({1, 3, 2, 2}, DType::F32), w, Tensor(), {}), ErrorCode::Shape,
               "larger than the padded input");
  CHECK_THROWS(add(Tensor::zeros({2, 3}, DType::F32), Tensor::zeros({4}, DType::F32)), ErrorCode::Shape,
               "shapes [2, 3] (a) and [4] (b) do not broadcast");
  CHECK_THROWS(add(Tensor::zeros({2}, DType::I32), Tensor::zeros({2}, DType::I32)), ErrorCode::DType,
               "a must be float32 or float64, got int32");
  CHECK_THROWS(matmul(Tensor::zeros({2, 3}, DType::F32), Tensor::zeros({4, 5}, DType::F32)), ErrorCode::Shape,
               "a [2, 3] has K = 3 but b [4, 5] has K = 4");
  CHECK_THROWS(matmul(Tensor::zeros({2, 2, 3}, DType::F32), Tensor::zeros({3, 3, 5}, DType::F32)), ErrorCode::Shape,
               "batch axes");
  CHECK_THROWS(linear(Tensor::zeros({2, 3}, DType::F32), Tensor::zeros({4, 5}, DType::F32), Tensor()), ErrorCode::Shape,
               "weight must have shape [out, 3]");
  CHECK_THROWS(conv2d_backward(Tensor::zeros({2, 4, 7, 7}, DType::F32), x, w, false, {}), ErrorCode::Shape,
               "dy must have shape [2, 4, 6, 6], got [2, 4, 7, 7]");
}

TEST(empty_batches_are_fine) {
  Tensor y = conv2d(Tensor::zeros({0, 3, 8, 8}, DType::F32), Tensor::zeros({4, 3, 3, 3}, DType::F32), Tensor(), {});
  CHECK(y.shape() == (Shape{0, 4, 6, 6}));
  Tensor m = matmul(Tensor::zeros({0, 2, 3}, DType::F32), Tensor::zeros({3, 4}, DType::F32));
  CHECK(m.shape() == (Shape{0, 2, 4}));
  Tensor w = Tensor::from_vector(std::vector<float>(4 * 3 * 3 * 3, 1.0f), {4, 3, 3, 3});
  Conv2dGrads g =
      conv2d_backward(Tensor::zeros({0, 4, 6, 6}, DType::F32), Tensor::zeros({0, 3, 8, 8}, DType::F32), w, true, {});
  CHECK(g.dweight.to_vector<float>() == std::vector<float>(4 * 3 * 3 * 3, 0.0f));  // an empty batch has zero gradients
  CHECK(g.dbias.to_vector<float>() == std::vector<float>(4, 0.0f));
}

// The harness's comparison can fail: tensors of other shapes, or an empty
// one, are never close, whatever their values.
TEST(closeness_compares_shapes_first) {
  Tensor a = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2});
  CHECK(closeness(a, Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2}), 1e-9, 0) == 0);
  CHECK(std::isinf(closeness(a, Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {4}), 1, 1)));
  CHECK(std::isinf(closeness(a, Tensor::zeros({0, 2}, DType::F32), 1, 1)));
  CHECK(std::isinf(closeness(Tensor::zeros({0, 2}, DType::F32), a, 1, 1)));
}

// col2im is im2col's adjoint: <col2im(dcol), x> = <dcol, im2col(x)> for any
// x and dcol (CUDA's gathers are checked against im2col in test_gemm_operands).
TEST(col2im_is_the_adjoint_of_im2col) {
  std::mt19937 rng(3);
  std::normal_distribution<double> normal;
  for (ConvGeometry g :
       {ConvGeometry{3, 7, 6, 3, 3, 4, 3, 2, 2, 1, 1, 1, 1}, ConvGeometry{2, 9, 8, 7, 7, 9, 8, 1, 1, 9, 9, 3, 3},
        ConvGeometry{2, 5, 9, 3, 2, 2, 5, 2, 1, 0, 1, 2, 2}}) {
    std::vector<double> x(size_t(g.channels * g.height * g.width)), dcol(size_t(g.col_rows() * g.col_cols()));
    for (double& v : x) v = normal(rng);
    for (double& v : dcol) v = normal(rng);
    std::vector<double> col(dcol.size()), dx(x.size());
    cpu_ops::im2col(g, x.data(), col.data());
    cpu_ops::col2im(g, dcol.data(), dx.data());
    double image_side = 0, column_side = 0, scale = 0;
    for (size_t i = 0; i < x.size(); ++i) image_side += dx[i] * x[i], scale += std::fabs(dx[i] * x[i]);
    for (size_t i = 0; i < col.size(); ++i) column_side += dcol[i] * col[i];
    CHECK(std::fabs(image_side - column_side) <= 1e-12 * scale);
    CHECK(scale > 0);
  }
}

// The vectorizable float exp and erf of the CPU's element-wise loops, over
// every range the activations meet.
TEST(fast_exp_and_erf_are_accurate) {
  double worst_exp = 0, worst_erf = 0;
  for (double x = -87; x <= 88; x += 0.000731) {  // the whole unclamped range
    float xf = float(x);                          // against libm at the float input, so input rounding is not counted
    double e = std::exp(double(xf));
    worst_exp = std::max(worst_exp, std::fabs(double(fast_exp(xf)) - e) / e);
  }
  for (double x = -9; x <= 9; x += 0.0000917)
    worst_erf = std::max(worst_erf, std::fabs(double(fast_erf(float(x))) - std::erf(double(float(x)))));
  std::printf("    fast_exp: worst relative error %.2e; fast_erf: worst absolute error %.2e\n", worst_exp, worst_erf);
  CHECK(worst_exp < 3e-7);
  CHECK(worst_erf < 1e-6);
  CHECK_EQ(fast_exp(-200.0f) < 1e-37f, true);
  CHECK_EQ(fast_exp(-INFINITY) < 1e-37f, true);
  CHECK_EQ(fast_exp(INFINITY) > 1e38f && std::isfinite(fast_exp(INFINITY)), true);  // clamped at e^88
  CHECK_EQ(std::isnan(fast_exp(NAN)), true);
  CHECK_EQ(std::isnan(fast_erf(NAN)), true);
  CHECK_EQ(fast_erf(20.0f), 1.0f);
  CHECK_EQ(fast_erf(-20.0f), -1.0f);
}

// The max reductions' rules, which the PyTorch fixtures do not reach: NaN
// counts as the maximum (the first NaN wins), and ties go to the first;
// 300 pixels span two of the CPU's pixel blocks.
TEST(channel_max_takes_the_first_maximum_and_nan) {
  const int64_t hw = 300;
  std::vector<float> x(size_t(3 * hw));
  for (int64_t p = 0; p < hw; ++p) x[size_t(p)] = 1, x[size_t(hw + p)] = 2, x[size_t(2 * hw + p)] = float(p % 3);
  x[size_t(hw + 7)] = NAN, x[size_t(2 * hw + 7)] = NAN;  // pixel 7: NaN in channels 1 and 2
  x[size_t(0 * hw + 290)] = NAN;                         // pixel 290: NaN in channel 0
  x[size_t(2 * hw + 299)] = 2;                           // pixel 299: a tie of channels 1 and 2
  Tensor t = Tensor::from_vector(x, {1, 3, 1, hw});
  std::vector<float> y = channel_max(t).to_vector<float>();
  std::vector<float> dx =
      channel_max_backward(Tensor::from_vector(std::vector<float>(size_t(hw), 1.0f), {1, 1, 1, hw}), t)
          .to_vector<float>();
  auto winner = [&](int64_t p) {  // the one channel that got the gradient, -1 if none or several
    int64_t w = -1, count = 0;
    for (int64_t c = 0; c < 3; ++c)
      if (dx[size_t(c * hw + p)] != 0) w = c, ++count;
    return count == 1 ? w : -1;
  };
  CHECK(std::isnan(y[7]) && winner(7) == 1);
  CHECK(std::isnan(y[290]) && winner(290) == 0);
  CHECK(y[299] == 2 && winner(299) == 1);
  CHECK(y[5] == 2 && winner(5) == 1);  // 5 % 3 = 2 ties channel 1 again
  CHECK(y[4] == 2 && winner(4) == 1);
}

// The same rules for max_pool2d's 2×2 windows (first in row-major order; the
// first NaN), over 260 windows of a row: two of the CPU's blocks of windows.
TEST(max_pool_takes_the_first_maximum_and_nan) {
  const int64_t w = 520, windows = w / 2;
  std::vector<float> x(size_t(2 * w), 0.0f);
  auto at = [&](int64_t row, int64_t col) -> float& { return x[size_t(row * w + col)]; };
  at(1, 0) = 3, at(1, 1) = 3;                       // window 0: a tie in the bottom row -> bottom-left
  at(0, 3) = 2, at(1, 2) = 2;                       // window 1: top-right before bottom-left
  at(1, 10) = NAN, at(1, 11) = NAN, at(0, 10) = 9;  // window 5: the first NaN (bottom-left) beats 9
  at(0, 518) = -1, at(0, 519) = -1, at(1, 518) = -1, at(1, 519) = -1;  // window 259: all tied -> top-left
  Tensor t = Tensor::from_vector(x, {1, 1, 2, w});
  std::vector<float> y = max_pool2d(t, 2, 2).to_vector<float>();
  std::vector<float> ones(size_t(windows), 1.0f);
  std::vector<float> dx =
      max_pool2d_backward(Tensor::from_vector(ones, {1, 1, 1, windows}), t, 2, 2).to_vector<float>();
  auto winner = [&](int64_t window) {  // 0..3 in row-major order, -1 if not exactly one input got the gradient
    int64_t found = -1, count = 0;
    for (int64_t k = 0; k < 4; ++k)
      if (dx[size_t((k / 2) * w + 2 * window + k % 2)] != 0) found = k, ++count;
    return count == 1 ? found : -1;
  };
  CHECK(y[0] == 3 && winner(0) == 2);
  CHECK(y[1] == 2 && winner(1) == 1);
  CHECK(std::isnan(y[5]) && winner(5) == 2);
  CHECK(y[259] == -1 && winner(259) == 0);
  CHECK(y[100] == 0 && winner(100) == 0);
}

TEST(index_divisors_divide_exactly) {
  // Every divisor kind (1, powers of two, odd, just past a power of two,
  // beyond 32 bits, the largest index) against `/` and `%`, on the dividends
  // where a multiply-high errs first (multiples of d and their neighbours,
  // powers of two, the largest index) and on random ones of every size.
  std::mt19937_64 rng(7);
  const int64_t largest = (int64_t(1) << 62) + ((int64_t(1) << 62) - 1);  // 2^63 − 1
  std::vector<int64_t> divisors{1,
                                2,
                                3,
                                5,
                                7,
                                49,
                                64,
                                98,
                                127,
                                224,
                                784,
                                50176,
                                65535,
                                65537,
                                (int64_t(1) << 31) - 1,
                                int64_t(1) << 31,
                                (int64_t(1) << 32) + 1,
                                1000000007,
                                (int64_t(1) << 40) + 3,
                                largest};
  for (int i = 0; i < 200; ++i) divisors.push_back(int64_t(rng() >> (2 + rng() % 62)) + 1);
  int64_t wrong = 0;
  for (int64_t d : divisors) {
    const IndexDivisor div = IndexDivisor::of(d);
    std::vector<int64_t> dividends{0, 1, d - 1, d, largest, largest - 1, largest / d * d, largest / d * d - 1};
    if (d < largest) dividends.push_back(d + 1);
    for (int k = 0; k < 63; ++k) dividends.push_back(int64_t(1) << k), dividends.push_back((int64_t(1) << k) - 1);
    for (int k = 0; k < 200; ++k) {
      const int64_t n = int64_t(rng() >> (1 + rng() % 63));
      dividends.push_back(n);
      if (n / d < largest / d) dividends.push_back((n / d + 1) * d - 1);
    }
    for (int64_t n : dividends) {
      if (n < 0) continue;
      int64_t remainder = -1;
      const int64_t quotient = div.divide(n, remainder);
      wrong += quotient != n / d || remainder != n % d || div.divide(n) != n / d;
    }
  }
  CHECK_EQ(wrong, int64_t(0));
  // What the kernels build of them: an element's channel and a LayerNorm group's first
  // element (ChannelDivisors), an element's plane, row and column (PlaneIndex), and of
  // an NCHW tensor [outer, channels, inner = 1 × inner] its image and channel too (ImageIndex).
  for (ChannelLayout l : {ChannelLayout{3, 5, 7}, ChannelLayout{2, 98, 50176}, ChannelLayout{1, 1, 1},
                          ChannelLayout{4, 1, 12544}, ChannelLayout{7, 384, 1}}) {
    const ChannelDivisors cd = ChannelDivisors::of(l);
    const PlaneIndex planes = PlaneIndex::of(l.channels, l.inner);
    const ImageIndex images = ImageIndex::of(l.channels, 1, l.inner);
    const int64_t n = l.outer * l.channels * l.inner, step = n / 5000 + 1;
    for (int64_t e = 0; e < n; e += step) {
      int64_t y = -1, x = -1;
      const int64_t plane = planes.split(e, y, x);
      wrong += cd.channel(e) != (e / l.inner) % l.channels || plane != e / (l.channels * l.inner) ||
               y != (e / l.inner) % l.channels || x != e % l.inner;
      int64_t image = -1, channel = -1, row = -1, column = -1;
      wrong += images.split(e, image, channel, row, column) != e / l.inner || image != e / (l.channels * l.inner) ||
               channel != (e / l.inner) % l.channels || row != 0 || column != e % l.inner;
    }
    for (int64_t g = 0; g < l.outer * l.inner; g += step)
      wrong += cd.group_start(g) != (g / l.inner) * l.channels * l.inner + g % l.inner;
  }
  CHECK_EQ(wrong, int64_t(0));
}

TEST(extents_of_zero_stay_zero_through_their_divisors) {
  // The plans keep an extent as its divisor's `d`: an empty axis is 0 there,
  // and what is shaped or counted from it is empty, not one element.
  CHECK_EQ(IndexDivisor::of(0).d, int64_t(0));
  Tensor empty = Tensor::zeros({0, 3}, DType::F32);
  CHECK(permute(empty, {1, 0}).shape() == (Shape{3, 0}));
  // The gradient of a [1, 3] operand broadcast over an empty output: zeros, nothing read.
  Tensor row = Tensor::from_vector(std::vector<float>{1, 2, 3}, {1, 3});
  BinaryGrads g = mul_backward(empty, row, empty);
  CHECK(g.da.shape() == (Shape{1, 3}) && g.db.shape() == (Shape{0, 3}));
  for (float v : g.da.to_vector<float>()) CHECK_EQ(v, 0.0f);
  // Logits with no pixels are refused, as they were before the plane became a divisor.
  Tensor no_pixels = Tensor::zeros({2, 3, 0}, DType::F32);
  Tensor no_targets = Tensor::from_vector(std::vector<int32_t>{}, {2, 0});
  CHECK_THROWS(cross_entropy(no_pixels, no_targets), ErrorCode::Shape, "hold no pixels");
}

TEST(matmul_precision_names_round_trip) {
  for (MatmulPrecision p : {MatmulPrecision::Highest, MatmulPrecision::High, MatmulPrecision::Medium})
    CHECK(parse_matmul_precision(matmul_precision_name(p)) == p);
  CHECK_THROWS(parse_matmul_precision("tf32"), ErrorCode::InvalidArg, "got 'tf32'");
  MatmulPrecision before = matmul_precision();
  set_matmul_precision(MatmulPrecision::Medium);
  CHECK(matmul_precision() == MatmulPrecision::Medium);
  set_matmul_precision(before);
}

TEST(a_thread_may_have_its_own_matmul_precision) {
  // A model's thread runs its jobs under the model's precision; other threads
  // (other models, the process) keep theirs, and the scope restores the thread's.
  MatmulPrecision before = matmul_precision();
  set_matmul_precision(MatmulPrecision::High);
  MatmulPrecision inside = MatmulPrecision::High, nested = MatmulPrecision::High, after = MatmulPrecision::Medium,
                  other = MatmulPrecision::Medium;
  std::thread model([&] {
    {
      ThreadMatmulPrecision scope(MatmulPrecision::Medium);
      inside = matmul_precision();
      {
        ThreadMatmulPrecision none(std::nullopt);
        nested = matmul_precision();
      }
      std::thread([&] { other = matmul_precision(); }).join();
    }
    after = matmul_precision();
  });
  model.join();
  CHECK(inside == MatmulPrecision::Medium);
  CHECK(nested == MatmulPrecision::High);  // none: the process's
  CHECK(other == MatmulPrecision::High);   // another thread: the process's
  CHECK(after == MatmulPrecision::High);
  CHECK(matmul_precision() == MatmulPrecision::High);
  set_matmul_precision(before);
}

TEST(tensor_lists_cover_every_element_once) {
  // More tensors than a list holds, empty ones, one of a single element, and
  // lists small enough that their chunks shrink to fill the GPU.
  std::mt19937 rng(4);
  for (int64_t min_blocks : {1, 8, 264}) {
    std::vector<int64_t> sizes;
    for (int t = 0; t < 2 * kTensorListCapacity + 50; ++t)
      sizes.push_back(t % 17 == 0 ? 0 : t == 3 ? 1 : int64_t(rng() % 5000));
    std::vector<std::vector<int64_t>> marks;
    std::vector<std::vector<int64_t*>> arrays;
    for (int64_t n : sizes) marks.emplace_back(size_t(n), 0);
    for (auto& m : marks) arrays.push_back({m.data()});
    std::vector<bool> flagged;  // every third tensor, each keeping its flag in its list
    for (size_t t = 0; t < sizes.size(); ++t) flagged.push_back(t % 3 == 0);
    std::vector<TensorList<int64_t, 1>> lists = tensor_lists<int64_t, 1>(arrays, sizes, 2048, 256, min_blocks, flagged);
    int64_t wrong_flags = 0;
    for (const TensorList<int64_t, 1>& l : lists)
      for (int t = 0; t < l.count; ++t) {
        const size_t index =
            size_t(std::find(arrays.begin(), arrays.end(), std::vector<int64_t*>{l.data[0][t]}) - arrays.begin());
        wrong_flags += l.flagged(t) != flagged[index];
      }
    CHECK_EQ(wrong_flags, int64_t(0));
    for (const TensorList<int64_t, 1>& l : lists) {
      CHECK(l.count >= 1 && l.count <= kTensorListCapacity);
      CHECK(l.chunk >= 256 && l.chunk <= 2048 && l.chunk % 256 == 0);
      for (int64_t b = 0; b < l.blocks(); ++b) {
        ListChunk c = l.locate(b);
        CHECK(c.tensor >= 0 && c.tensor < l.count && c.begin < c.end && c.end <= l.size[c.tensor]);
        for (int64_t i = c.begin; i < c.end; ++i) ++l.data[0][c.tensor][i];
      }
    }
    int64_t wrong = 0;
    for (const auto& m : marks)
      for (int64_t count : m) wrong += count != 1;
    CHECK_EQ(wrong, int64_t(0));
    CHECK_EQ(lists.size(), size_t(3));  // 288 non-empty tensors, 128 a list
  }
}

TEST(adam_over_all_parameters_is_adam_over_each) {
  std::mt19937 rng(5);
  std::normal_distribution<float> normal;
  auto random = [&](int64_t n) {
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = normal(rng);
    return Tensor::from_vector(v, {n});
  };
  AdamOptions o;
  o.lr = 1e-3, o.step = 3, o.weight_decay = 0.01, o.decoupled_weight_decay = true, o.grad_scale = 0.5;
  std::vector<AdamSlot> all, each;
  for (int64_t n : {1, 300, 0, 70000, 17}) {
    AdamSlot s{random(n), random(n), random(n), random(n)};
    for (int64_t i = 0; i < n; ++i) s.v.data<float>()[i] = std::fabs(s.v.data<float>()[i]);  // a second moment
    all.push_back(s);
    each.push_back({s.params.clone(), s.grads, s.m.clone(), s.v.clone()});
  }
  adam_step_all(all, o);
  for (AdamSlot& s : each) adam_step(s.params, s.grads, s.m, s.v, o);
  for (size_t i = 0; i < all.size(); ++i)
    for (auto [a, b] : {std::pair{&all[i].params, &each[i].params}, {&all[i].m, &each[i].m}, {&all[i].v, &each[i].v}})
      CHECK(a->to_vector<float>() == b->to_vector<float>());
  // The non-finite count over them all is the sum of the counts.
  std::vector<Tensor> checked{all[1].grads, all[3].grads};
  checked[0].data<float>()[5] = NAN, checked[1].data<float>()[9] = INFINITY, checked[1].data<float>()[10] = -INFINITY;
  Tensor counter = Tensor::zeros({1}, DType::I32);
  count_nonfinite_all(checked, counter);
  CHECK_EQ(counter.to_vector<int32_t>()[0], 3);
  std::vector<AdamSlot> mismatched{{random(3), random(4), random(3), random(3)}};
  CHECK_THROWS(adam_step_all(mismatched, o), ErrorCode::Shape, "adam_step_all");
}

TEST(clone_all_copies_each_tensor_into_storage_of_its_own) {
  std::vector<Tensor> sources{Tensor::from_vector(std::vector<float>{1, 2, 3}, {3}),
                              Tensor::from_vector(std::vector<int32_t>{7}, {1}), Tensor::zeros({0}, DType::F32),
                              Tensor::from_vector(std::vector<double>(5000, 0.25), {50, 100})};
  std::vector<Tensor> copies = clone_all(sources);
  CHECK_EQ(copies.size(), sources.size());
  for (size_t i = 0; i < sources.size(); ++i) {
    CHECK(copies[i].shape() == sources[i].shape() && copies[i].dtype() == sources[i].dtype());
    CHECK(copies[i].numel() == 0 || copies[i].raw() != sources[i].raw());
  }
  sources[0].data<float>()[1] = 9;  // the copy keeps what the source held
  CHECK(copies[0].to_vector<float>() == (std::vector<float>{1, 2, 3}));
  CHECK_EQ(copies[1].to_vector<int32_t>()[0], 7);
  CHECK(copies[3].to_vector<double>() == std::vector<double>(5000, 0.25));
}

int main() { return run_all(); }
