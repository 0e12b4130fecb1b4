#include "ops/matmul.h"

#include "ops/device_math.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

Shape batch_axes(const Shape& s) { return Shape(s.begin(), s.end() - 2); }

struct MatmulDims {
  Shape batch;          // batch axes of the result
  int64_t count = 1;    // product of batch axes
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
  DMDLK_CHECK(d.a_shared || d.b_shared || batch_axes(a) == batch_axes(b), ErrorCode::Shape, op,
              ": batch axes of a ", shape_str(a), " and b ", shape_str(b),
              " differ (they must be equal, or one operand must be 2-D)");
  d.batch = d.a_shared ? batch_axes(b) : batch_axes(a);
  d.count = shape_numel(d.batch);
  return d;
}

MatmulDims matmul_dims(const Tensor& a, const Tensor& b, const char* op) {
  check_floating(a, op, "a");
  check_compatible(b, a, op, "b", "a");
  return matmul_dims(a.shape(), b.shape(), op);
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
    GemmShape s;
    s.m = d.m, s.n = d.n, s.k = d.k, s.lda = d.k, s.ldb = d.n, s.ldc = d.n, s.batch = d.count;
    s.stride_a = d.a_shared ? 0 : d.m * d.k;
    s.stride_b = d.b_shared ? 0 : d.k * d.n;
    s.stride_c = d.m * d.n;
    gemm<T>(a.device(), s, 1, a.data<T>(), b.data<T>(), 0, y.data<T>());
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
    // da = dy · bᵀ ; a shared operand sums over the batch, one batch item at a time.
    GemmShape sa;
    sa.m = d.m, sa.n = d.k, sa.k = d.n, sa.trans_b = true, sa.lda = d.n, sa.ldb = d.n, sa.ldc = d.k;
    sa.stride_b = d.b_shared ? 0 : d.k * d.n;
    // db = aᵀ · dy
    GemmShape sb;
    sb.m = d.k, sb.n = d.n, sb.k = d.m, sb.trans_a = true, sb.lda = d.k, sb.ldb = d.n, sb.ldc = d.n;
    sb.stride_a = d.a_shared ? 0 : d.m * d.k;
    const T* dyp = dy.data<T>();
    if (d.a_shared) {
      sa.batch = 1;
      for (int64_t i = 0; i < d.count; ++i)
        gemm<T>(a.device(), sa, 1, dyp + i * d.m * d.n, b.data<T>() + i * d.k * d.n, i ? 1 : 0, g.da.data<T>());
    } else {
      sa.batch = d.count, sa.stride_a = d.m * d.n, sa.stride_c = d.m * d.k;
      gemm<T>(a.device(), sa, 1, dyp, b.data<T>(), 0, g.da.data<T>());
    }
    if (d.b_shared) {
      sb.batch = 1;
      for (int64_t i = 0; i < d.count; ++i)
        gemm<T>(a.device(), sb, 1, a.data<T>() + i * d.m * d.k, dyp + i * d.m * d.n, i ? 1 : 0, g.db.data<T>());
    } else {
      sb.batch = d.count, sb.stride_b = d.m * d.n, sb.stride_c = d.k * d.n;
      gemm<T>(a.device(), sb, 1, a.data<T>(), dyp, 0, g.db.data<T>());
    }
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
  DMDLK_CHECK(weight.size() == 2, ErrorCode::Shape, op, ": weight must have rank 2 ([out, in]), got shape ", shape_str(weight));
  LinearDims d;
  d.in = x.back();
  d.out = weight[0];
  d.rows = shape_numel(x) / std::max<int64_t>(1, d.in);
  DMDLK_CHECK(weight[1] == d.in, ErrorCode::Shape, op, ": weight must have shape [out, ", d.in,
              "] to match x ", shape_str(x), ", got ", shape_str(weight));
  return d;
}

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

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  LinearDims d = linear_dims(x, weight, &bias, "linear");
  Shape out_shape = x.shape();
  out_shape.back() = d.out;
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    GemmShape s;
    s.m = d.rows, s.n = d.out, s.k = d.in, s.trans_b = true, s.lda = d.in, s.ldb = d.in, s.ldc = d.out;
    gemm<T>(x.device(), s, 1, x.data<T>(), weight.data<T>(), 0, y.data<T>());
    if (bias.defined()) add_bias<T>(x.device(), {d.rows, d.out, 1}, bias.data<T>(), y.data<T>());
  });
  return y;
}

LinearGrads linear_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias) {
  LinearDims d = linear_dims(x, weight, nullptr, "linear_backward");
  check_compatible(dy, x, "linear_backward", "dy", "x");
  Shape out_shape = x.shape();
  out_shape.back() = d.out;
  check_shape(dy, out_shape, "linear_backward", "dy");
  LinearGrads g;
  g.dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  g.dweight = Tensor::empty(weight.shape(), x.dtype(), x.device());
  if (has_bias) g.dbias = Tensor::empty({d.out}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    GemmShape sx;  // dx = dy · w
    sx.m = d.rows, sx.n = d.in, sx.k = d.out, sx.lda = d.out, sx.ldb = d.in, sx.ldc = d.in;
    gemm<T>(x.device(), sx, 1, dy.data<T>(), weight.data<T>(), 0, g.dx.data<T>());
    GemmShape sw;  // dw = dyᵀ · x
    sw.m = d.out, sw.n = d.in, sw.k = d.rows, sw.trans_a = true, sw.lda = d.out, sw.ldb = d.in, sw.ldc = d.in;
    gemm<T>(x.device(), sw, 1, dy.data<T>(), x.data<T>(), 0, g.dweight.data<T>());
    if (has_bias) bias_grad<T>(x.device(), {d.rows, d.out, 1}, dy.data<T>(), g.dbias.data<T>());
  });
  return g;
}

// ---- the graph's matmul and linear ------------------------------------------------
extern const OpDef matmul_op{
    OpKind::Matmul, "matmul",
    [](const std::vector<Shape>& in, const OpAttrs&) {
      MatmulDims d = matmul_dims(in[0], in[1], "matmul");
      return std::vector<Shape>{with_matrix(d.batch, d.m, d.n)};
    },
    [](const Tensors& in, const OpAttrs&) { return Tensors{matmul(in[0], in[1])}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&) {
      MatmulGrads g = matmul_backward(d[0], in[0], in[1]);
      return Tensors{g.da, g.db};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      MatmulDims d = matmul_dims(in[0], in[1], "matmul");
      return OpCost{double(d.count) * d.m * d.n * d.k, shapes_bytes({in[0], in[1], with_matrix(d.batch, d.m, d.n)})};
    },
    nullptr};

// Inputs: x, weight and, when it has one, bias.
extern const OpDef linear_op{
    OpKind::Linear, "linear",
    [](const std::vector<Shape>& in, const OpAttrs&) {
      LinearDims d = linear_dims(in[0], in[1], "linear");
      Shape out = in[0];
      out.back() = d.out;
      return std::vector<Shape>{out};
    },
    [](const Tensors& in, const OpAttrs&) { return Tensors{linear(in[0], in[1], in.size() > 2 ? in[2] : Tensor())}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&) {
      LinearGrads g = linear_backward(d[0], in[0], in[1], in.size() > 2);
      return Tensors{g.dx, g.dweight, g.dbias};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      LinearDims d = linear_dims(in[0], in[1], "linear");
      return OpCost{double(d.rows) * d.out * d.in, shapes_bytes(in) + 4.0 * d.rows * d.out};
    },
    nullptr};

}  // namespace dmdlk
