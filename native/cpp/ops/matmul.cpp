#include "ops/matmul.h"

#include "gpu/bias.h"
#include "gpu/conv2d.h"
#include "gpu/gemm.h"
#include "ops/backend.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

Shape batch_axes(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

struct MatmulDims {
  Shape batch;        // batch axes of the result
  int64_t count = 1;  // product of batch axes
  int64_t m = 0, k = 0, n = 0;
  bool a_shared = false, b_shared = false;  // 2-D operand reused by every batch item
};

MatmulDims matmul_dims(const Shape& a, const Shape& b, const char* op) {
  DMDLK_CHECK(a.size() >= 2, ErrorCode::Shape, op, ": a must have rank >= 2 ([..., M, K]), got ", shape_str(a));
  DMDLK_CHECK(b.size() >= 2, ErrorCode::Shape, op, ": b must have rank >= 2 ([..., K, N]), got ", shape_str(b));
  MatmulDims d;
  d.m = a[a.size() - 2];
  d.k = a.back();
  d.n = b.back();
  DMDLK_CHECK(b[b.size() - 2] == d.k, ErrorCode::Shape, op, ": a ", shape_str(a), " has K = ", d.k, " but b ",
              shape_str(b), " has K = ", b[b.size() - 2]);
  d.a_shared = a.size() == 2 && b.size() > 2;
  d.b_shared = b.size() == 2 && a.size() > 2;
  DMDLK_CHECK(d.a_shared || d.b_shared || batch_axes(a) == batch_axes(b), ErrorCode::Shape, op, ": batch axes of a ",
              shape_str(a), " and b ", shape_str(b), " differ (they must be equal, or one operand must be 2-D)");
  d.batch = d.a_shared ? batch_axes(b) : batch_axes(a);
  d.count = shape_numel(d.batch);
  return d;
}

MatmulDims matmul_dims(const Tensor& a, const Tensor& b, const char* op) {
  check_floating(a, op, "a");
  check_compatible(b, a, op, "b", "a");
  return matmul_dims(a.shape(), b.shape(), op);
}

// y = a · b over the batch (a 2-D operand shared by every item).
GemmShape matmul_gemm(const MatmulDims& d) {
  GemmShape s;
  s.m = d.m, s.n = d.n, s.k = d.k, s.lda = d.k, s.ldb = d.n, s.ldc = d.n, s.batch = d.count;
  s.stride_a = d.a_shared ? 0 : d.m * d.k;
  s.stride_b = d.b_shared ? 0 : d.k * d.n;
  s.stride_c = d.m * d.n;
  return s;
}

// da = dy · bᵀ: over the batch, or one item at a time when a is shared.
GemmShape matmul_da_gemm(const MatmulDims& d) {
  GemmShape s;
  s.m = d.m, s.n = d.k, s.k = d.n, s.trans_b = true, s.lda = d.n, s.ldb = d.n, s.ldc = d.k;
  s.stride_b = d.b_shared ? 0 : d.k * d.n;
  if (!d.a_shared) s.batch = d.count, s.stride_a = d.m * d.n, s.stride_c = d.m * d.k;
  return s;
}

// db = aᵀ · dy: over the batch, or one item at a time when b is shared.
GemmShape matmul_db_gemm(const MatmulDims& d) {
  GemmShape s;
  s.m = d.k, s.n = d.n, s.k = d.m, s.trans_a = true, s.lda = d.k, s.ldb = d.n, s.ldc = d.n;
  s.stride_a = d.a_shared ? 0 : d.m * d.k;
  if (!d.b_shared) s.batch = d.count, s.stride_b = d.m * d.n, s.stride_c = d.k * d.n;
  return s;
}

Shape with_matrix(Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
  MatmulDims d = matmul_dims(a, b, "matmul");
  Tensor y = Tensor::empty(with_matrix(d.batch, d.m, d.n), a.dtype(), a.device());
  dispatch_floating(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(a.device(), gemm, matmul_gemm(d), T(1), a.data<T>(), b.data<T>(), T(0), y.data<T>());
  });
  return y;
}

MatmulGrads matmul_backward(const Tensor& dy, const Tensor& a, const Tensor& b) {
  MatmulDims d = matmul_dims(a, b, "matmul_backward");
  check_compatible(dy, a, "matmul_backward", "dy", "a");
  check_shape(dy, with_matrix(d.batch, d.m, d.n), "matmul_backward", "dy");
  MatmulGrads g{Tensor::empty(a.shape(), a.dtype(), a.device()), Tensor::empty(b.shape(), b.dtype(), b.device())};
  dispatch_floating(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    // A shared operand's gradient sums over the batch, one batch item at a time.
    const T* dyp = dy.data<T>();
    GemmShape sa = matmul_da_gemm(d), sb = matmul_db_gemm(d);
    int64_t items_a = d.a_shared ? d.count : 1, items_b = d.b_shared ? d.count : 1;
    for (int64_t i = 0; i < items_a; ++i)
      DMDLK_ON_DEVICE(a.device(), gemm, sa, T(1), dyp + i * d.m * d.n, b.data<T>() + (d.a_shared ? i * d.k * d.n : 0),
                      T(i ? 1 : 0), g.da.data<T>());
    for (int64_t i = 0; i < items_b; ++i)
      DMDLK_ON_DEVICE(a.device(), gemm, sb, T(1), a.data<T>() + (d.b_shared ? i * d.m * d.k : 0), dyp + i * d.m * d.n,
                      T(i ? 1 : 0), g.db.data<T>());
  });
  if (d.count == 0) {
    g.da.fill_zero();
    g.db.fill_zero();
  }
  return g;
}

namespace {

struct LinearDims {
  int64_t rows = 0, in = 0, out = 0;
};

LinearDims linear_dims(const Shape& x, const Shape& weight, const char* op) {
  DMDLK_CHECK(x.size() >= 1, ErrorCode::Shape, op, ": x must have rank >= 1 ([..., in]), got ", shape_str(x));
  DMDLK_CHECK(weight.size() == 2, ErrorCode::Shape, op, ": weight must have rank 2 ([out, in]), got shape ",
              shape_str(weight));
  LinearDims d;
  d.in = x.back();
  d.out = weight[0];
  d.rows = shape_numel(x) / std::max<int64_t>(1, d.in);
  DMDLK_CHECK(weight[1] == d.in, ErrorCode::Shape, op, ": weight must have shape [out, ", d.in, "] to match x ",
              shape_str(x), ", got ", shape_str(weight));
  return d;
}

// y = x · wᵀ over every row of x; dx = dy · w; dw = dyᵀ · x.
GemmShape linear_gemm(const LinearDims& d) {
  GemmShape s;
  s.m = d.rows, s.n = d.out, s.k = d.in, s.trans_b = true, s.lda = d.in, s.ldb = d.in, s.ldc = d.out;
  return s;
}
GemmShape linear_dx_gemm(const LinearDims& d) {
  GemmShape s;
  s.m = d.rows, s.n = d.in, s.k = d.out, s.lda = d.out, s.ldb = d.in, s.ldc = d.in;
  return s;
}
GemmShape linear_dweight_gemm(const LinearDims& d) {
  GemmShape s;
  s.m = d.out, s.n = d.in, s.k = d.rows, s.trans_a = true, s.lda = d.out, s.ldb = d.in, s.ldc = d.in;
  return s;
}
// The bias runs along the last axis of y [rows, out].
ChannelLayout linear_layout(const LinearDims& d) { return {d.rows, d.out, 1}; }

LinearDims linear_dims(const Tensor& x, const Tensor& weight, const Tensor* bias, const char* op) {
  check_floating(x, op, "x");
  check_compatible(weight, x, op, "weight", "x");
  LinearDims d = linear_dims(x.shape(), weight.shape(), op);
  if (bias && bias->defined()) {
    check_compatible(*bias, x, op, "bias", "x");
    check_shape(*bias, {d.out}, op, "bias");
  }
  return d;
}

}  // namespace

namespace cpu_ops {

// dw = dyᵀ·x, and db = Σ dy over the rows where asked (CUDA makes both in
// one product: gpu/conv2d.h).
template <typename T>
void linear_weight_grad(int64_t rows, int64_t in, int64_t out, const T* dy, const T* x, T* dw, T* db) {
  LinearDims d;
  d.rows = rows, d.in = in, d.out = out;
  gemm(linear_dweight_gemm(d), T(1), dy, x, T(0), dw);
  if (db) bias_grad(linear_layout(d), dy, db);
}

}  // namespace cpu_ops

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  LinearDims d = linear_dims(x, weight, &bias, "linear");
  Shape out_shape = x.shape();
  out_shape.back() = d.out;
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (bias.defined())
      DMDLK_ON_DEVICE(x.device(), gemm_bias_columns, linear_gemm(d), x.data<T>(), weight.data<T>(), bias.data<T>(),
                      y.data<T>());
    else DMDLK_ON_DEVICE(x.device(), gemm, linear_gemm(d), T(1), x.data<T>(), weight.data<T>(), T(0), y.data<T>());
  });
  return y;
}

LinearGrads linear_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias,
                            const Tensor& dx_into) {
  LinearDims d = linear_dims(x, weight, nullptr, "linear_backward");
  check_compatible(dy, x, "linear_backward", "dy", "x");
  Shape out_shape = x.shape();
  out_shape.back() = d.out;
  check_shape(dy, out_shape, "linear_backward", "dy");
  const bool accumulate = dx_into.defined();
  LinearGrads g;
  g.dx = gradient_tensor(x, dx_into, "linear_backward");
  g.dweight = Tensor::empty(weight.shape(), x.dtype(), x.device());
  if (has_bias) g.dbias = Tensor::empty({d.out}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), gemm, linear_dx_gemm(d), T(1), dy.data<T>(), weight.data<T>(), T(accumulate ? 1 : 0),
                    g.dx.data<T>());
    DMDLK_ON_DEVICE(x.device(), linear_weight_grad, d.rows, d.in, d.out, dy.data<T>(), x.data<T>(), g.dweight.data<T>(),
                    has_bias ? g.dbias.data<T>() : nullptr);
  });
  return g;
}

// ---- the graph's matmul and linear ------------------------------------------------
extern const OpDef matmul_op{
    OpKind::Matmul,
    "matmul",
    no_attrs,
    [](const std::vector<Shape>& in, const OpAttrs&) {
      MatmulDims d = matmul_dims(in[0], in[1], "matmul");
      return std::vector<Shape>{with_matrix(d.batch, d.m, d.n)};
    },
    [](const Tensors& in, const OpAttrs&) { return Tensors{matmul(in[0], in[1])}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&, WantedGrads) {
      MatmulGrads g = matmul_backward(d[0], in[0], in[1]);
      return Tensors{g.da, g.db};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      MatmulDims d = matmul_dims(in[0], in[1], "matmul");
      return OpCost{double(d.count) * d.m * d.n * d.k, shapes_bytes({in[0], in[1], with_matrix(d.batch, d.m, d.n)})};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass pass, WantedGrads) {
      MatmulDims d = matmul_dims(in[0], in[1], "matmul");
      int64_t bytes = int64_t(dtype_size(t));
      if (pass == Pass::Forward) return cuda_ops::plan_device_gemm(matmul_gemm(d), bytes, false);
      std::vector<cuda::LaunchPlan> plans;
      for (int64_t i = 0; i < (d.a_shared ? d.count : 1); ++i)
        cuda::append(plans, cuda_ops::plan_device_gemm(matmul_da_gemm(d), bytes, i > 0));
      for (int64_t i = 0; i < (d.b_shared ? d.count : 1); ++i)
        cuda::append(plans, cuda_ops::plan_device_gemm(matmul_db_gemm(d), bytes, i > 0));
      return plans;
    },
};

// Inputs: x, weight and, when it has one, bias.
extern const OpDef linear_op{
    OpKind::Linear,
    "linear",
    no_attrs,
    [](const std::vector<Shape>& in, const OpAttrs&) {
      LinearDims d = linear_dims(in[0], in[1], "linear");
      Shape out = in[0];
      out.back() = d.out;
      return std::vector<Shape>{out};
    },
    [](const Tensors& in, const OpAttrs&) { return Tensors{linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor())}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&, WantedGrads wanted) {
      LinearGrads g = linear_backward(d[0], in[0], in[1], in.size() > 2, wanted.accumulate_into(0));
      return Tensors{g.dx, g.dweight, g.dbias};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      LinearDims d = linear_dims(in[0], in[1], "linear");
      return OpCost{double(d.rows) * d.out * d.in, shapes_bytes(in) + 4.0 * d.rows * d.out};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass pass, WantedGrads) {
      LinearDims d = linear_dims(in[0], in[1], "linear");
      int64_t bytes = int64_t(dtype_size(t));
      bool bias = in.size() > 2;
      std::vector<cuda::LaunchPlan> plans;
      // The bias is added in the product's epilogue (gemm_bias_columns).
      if (pass == Pass::Forward) return cuda_ops::plan_device_gemm(linear_gemm(d), bytes, false);
      cuda::append(plans, cuda_ops::plan_device_gemm(linear_dx_gemm(d), bytes, false));
      // The weight and bias gradients: one product (cuda_ops::linear_weight_grad).
      cuda::append(plans,
                   cuda_ops::plan_conv2d_backward(cuda_ops::linear_as_conv(d.rows, d.in, d.out), bytes, bias, false));
      return plans;
    },
    [](const std::vector<Shape>&, const OpAttrs&, size_t input) { return input == 0; },  // dx_into
};

}  // namespace dmdlk
