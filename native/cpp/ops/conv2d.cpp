// Convolution as im2col + one GEMM per image, batched over groups:
//   y[n, g] = W[g] · col(x[n])[g]            (M = Cout/g, K = Cin/g·kh·kw, N = Ho·Wo)
//   dW[g]  += dy[n, g] · col(x[n])[g]ᵀ
//   dx[n]   = col2im(W[g]ᵀ · dy[n, g])
// On the CPU the columns are gathered from x as the GEMM packs them, never
// stored, and with stride 1 dx is computed as a convolution of dy instead of
// through col2im; the bias is added in the GEMM's epilogue. CUDA stores the
// columns and adds the bias after. A 1×1 convolution with stride 1
// and no padding reads x directly as its columns; depthwise convolutions
// (groups = Cin = Cout) go to direct kernels.
#include "ops/conv2d.h"

#include <utility>

#include "core/thread_pool.h"
#include "ops/conv_gemm.h"
#include "ops/depthwise_conv2d.h"
#include "ops/im2col.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

struct ConvPlan {
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  ConvGeometry geo;
  bool direct_columns = false;  // 1×1, stride 1, no padding: x is already its col matrix
  bool depthwise = false;       // groups = Cin = Cout > 1
  Shape out_shape;
};

// The convolution of x [N, Cin, H, W] by weight [Cout, Cin/groups, kh, kw],
// from their shapes (what the graph knows before any tensor exists).
ConvPlan conv_plan(const Shape& x, const Shape& weight, const Conv2dOptions& o, const char* op) {
  DMDLK_CHECK(x.size() == 4, ErrorCode::Shape, op, ": x must have rank 4 ([N, C, H, W]), got shape ", shape_str(x));
  DMDLK_CHECK(weight.size() == 4, ErrorCode::Shape, op, ": weight must have rank 4 ([Cout, Cin/groups, kh, kw]), got shape ",
              shape_str(weight));
  DMDLK_CHECK(o.groups >= 1, ErrorCode::InvalidArg, op, ": groups must be >= 1, got ", o.groups);
  ConvPlan p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.out_channels = weight[0];
  p.groups = o.groups;
  DMDLK_CHECK(p.in_channels % o.groups == 0 && p.out_channels % o.groups == 0, ErrorCode::Shape, op,
              ": groups = ", o.groups, " must divide the input channels (", p.in_channels,
              ") and the output channels (", p.out_channels, ")");
  DMDLK_CHECK(weight[1] == p.in_channels / o.groups, ErrorCode::Shape, op, ": weight must have shape [",
              p.out_channels, ", ", p.in_channels / o.groups, ", kh, kw] for x ", shape_str(x),
              " and groups = ", o.groups, ", got ", shape_str(weight));
  p.geo = conv_geometry(x, weight[2], weight[3], o, op);
  const ConvGeometry& g = p.geo;
  p.direct_columns = g.kernel_h == 1 && g.kernel_w == 1 && o.stride_h == 1 && o.stride_w == 1 && o.pad_h == 0 &&
                     o.pad_w == 0;
  p.depthwise = o.groups > 1 && o.groups == p.in_channels && p.out_channels == p.in_channels;
  p.out_shape = {p.batch, p.out_channels, g.out_h, g.out_w};
  return p;
}

ConvPlan plan_conv(const Tensor& x, const Tensor& weight, const Tensor* bias, const Conv2dOptions& o,
                   const char* op) {
  check_floating(x, op, "x");
  check_compatible(weight, x, op, "weight", "x");
  ConvPlan p = conv_plan(x.shape(), weight.shape(), o, op);
  if (bias && bias->defined()) {
    check_compatible(*bias, x, op, "bias", "x");
    check_shape(*bias, {p.out_channels}, op, "bias");
  }
  return p;
}

ConvGemmShape gemm_shape(const ConvPlan& p) {
  return {p.groups, p.out_channels / p.groups, p.geo.col_rows() / p.groups, p.geo.col_cols()};
}

// One group's share of an image: the geometry cpu_gemm_columns gathers from.
ConvGeometry group_geometry(const ConvPlan& p) {
  ConvGeometry g = p.geo;
  g.channels /= p.groups;
  return g;
}

// A GEMM shape of conv_gemm.h with B gathered from the image: groups are its channel blocks.
GemmShape gathered(GemmShape s, const ConvPlan& p) {
  s.stride_b = (p.in_channels / p.groups) * p.geo.height * p.geo.width;
  return s;
}

// With stride 1, dx is itself a convolution: of dy, by each group's weight
// transposed (in ↔ out) and flipped, with the same dilation and padding
// d·(k − 1) − pad. Run so, it needs neither a column-gradient matrix nor col2im.
bool dx_is_a_convolution(const ConvPlan& p) {
  const ConvGeometry& g = p.geo;
  return g.stride_h == 1 && g.stride_w == 1 && g.pad_h <= g.dilation_h * (g.kernel_h - 1) &&
         g.pad_w <= g.dilation_w * (g.kernel_w - 1);
}

ConvPlan transposed_plan(const ConvPlan& p) {
  ConvPlan t = p;
  std::swap(t.in_channels, t.out_channels);
  ConvGeometry& g = t.geo;
  g.channels = p.out_channels;
  std::swap(g.height, g.out_h);
  std::swap(g.width, g.out_w);
  g.pad_h = g.dilation_h * (g.kernel_h - 1) - g.pad_h;
  g.pad_w = g.dilation_w * (g.kernel_w - 1) - g.pad_w;
  return t;
}

// [Cout, Cin/G, kh, kw] → [G][Cin/G][Cout/G, kh, kw], taps reversed.
Tensor flipped_transposed_weight(const Tensor& w, int64_t groups) {
  int64_t out = w.dim(0), in = w.dim(1), kh = w.dim(2), kw = w.dim(3), group_out = out / groups;
  Tensor f = Tensor::empty({groups * in, group_out, kh, kw}, w.dtype(), w.device());
  dispatch_floating(w.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* src = w.data<T>();
    T* dst = f.data<T>();
    for (int64_t o = 0; o < out; ++o)
      for (int64_t c = 0; c < in; ++c)
        for (int64_t t = 0; t < kh * kw; ++t) {
          int64_t grp = o / group_out, ot = o % group_out;
          dst[((grp * in + c) * group_out + ot) * kh * kw + (kh * kw - 1 - t)] = src[(o * in + c) * kh * kw + t];
        }
  });
  return f;
}

}  // namespace

// Row by row: each (channel, tap) row of the columns reads one input row per
// output row, so the inner loop is a strided copy with its bounds hoisted.
template <typename T>
void cpu_im2col(const ConvGeometry& g, const T* x, T* col) {
  int64_t cols = g.col_cols();
  parallel_for(0, g.col_rows(), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      int64_t j = row % g.kernel_w, i = (row / g.kernel_w) % g.kernel_h, c = row / (g.kernel_w * g.kernel_h);
      const T* plane = x + c * g.height * g.width;
      T* out = col + row * cols;
      // Output columns whose input column ox·stride − pad + j·dilation lies inside [0, width).
      int64_t shift = j * g.dilation_w - g.pad_w;
      int64_t ox_begin = shift >= 0 ? 0 : (-shift + g.stride_w - 1) / g.stride_w;
      int64_t ox_end = std::min(g.out_w, shift < g.width ? (g.width - shift + g.stride_w - 1) / g.stride_w : 0);
      ox_begin = std::min(ox_begin, ox_end);
      for (int64_t oy = 0; oy < g.out_h; ++oy, out += g.out_w) {
        int64_t y = oy * g.stride_h - g.pad_h + i * g.dilation_h;
        if (y < 0 || y >= g.height) {
          std::fill(out, out + g.out_w, T(0));
          continue;
        }
        const T* in = plane + y * g.width;
        std::fill(out, out + ox_begin, T(0));
        for (int64_t ox = ox_begin; ox < ox_end; ++ox) out[ox] = in[ox * g.stride_w + shift];
        std::fill(out + ox_end, out + g.out_w, T(0));
      }
    }
  });
}

// The adjoint as a scatter, one channel per task: a task writes only its own
// input plane, so there are no races (CUDA uses the gather of im2col.h).
template <typename T>
void cpu_col2im(const ConvGeometry& g, const T* dcol, T* dx) {
  int64_t cols = g.col_cols(), taps = g.kernel_h * g.kernel_w;
  parallel_for(0, g.channels, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      T* plane = dx + c * g.height * g.width;
      std::fill(plane, plane + g.height * g.width, T(0));
      for (int64_t t = 0; t < taps; ++t) {
        int64_t i = t / g.kernel_w, j = t % g.kernel_w;
        const T* in = dcol + (c * taps + t) * cols;
        for (int64_t oy = 0; oy < g.out_h; ++oy) {
          int64_t y = oy * g.stride_h - g.pad_h + i * g.dilation_h;
          if (y < 0 || y >= g.height) continue;
          for (int64_t ox = 0; ox < g.out_w; ++ox) {
            int64_t x = ox * g.stride_w - g.pad_w + j * g.dilation_w;
            if (x >= 0 && x < g.width) plane[y * g.width + x] += in[oy * g.out_w + ox];
          }
        }
      }
    }
  });
}

template void cpu_im2col<float>(const ConvGeometry&, const float*, float*);
template void cpu_im2col<double>(const ConvGeometry&, const double*, double*);
template void cpu_col2im<float>(const ConvGeometry&, const float*, float*);
template void cpu_col2im<double>(const ConvGeometry&, const double*, double*);

namespace {

template <typename T>
void im2col(Device d, const ConvGeometry& g, const T* x, T* col) {
  if (d.is_cpu()) cpu_im2col(g, x, col);
  else DMDLK_CUDA_DISPATCH(cuda_ops::im2col(d.index, g, x, col));
}

template <typename T>
void col2im(Device d, const ConvGeometry& g, const T* dcol, T* dx) {
  if (d.is_cpu()) cpu_col2im(g, dcol, dx);
  else DMDLK_CUDA_DISPATCH(cuda_ops::col2im(d.index, g, dcol, dx));
}

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options) {
  ConvPlan p = plan_conv(x, weight, &bias, options, "conv2d");
  const ConvGeometry& g = p.geo;
  Tensor y = Tensor::empty(p.out_shape, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  if (p.depthwise) {
    dispatch_floating(x.dtype(), [&](auto zero) {
      using T = decltype(zero);
      int64_t planes = p.batch * p.in_channels;
      if (x.device().is_cpu()) cpu_depthwise_forward(g, planes, p.in_channels, x.data<T>(), weight.data<T>(), y.data<T>());
      else DMDLK_CUDA_DISPATCH(cuda_ops::depthwise_forward(x.device().index, g, planes, p.in_channels, x.data<T>(), weight.data<T>(), y.data<T>()));
      if (bias.defined()) add_bias<T>(x.device(), {p.batch, p.out_channels, g.col_cols()}, bias.data<T>(), y.data<T>());
    });
    return y;
  }
  // The CPU gathers the columns while packing them (cpu_gemm_columns) and
  // adds the bias in the GEMM's epilogue; CUDA stores the columns.
  bool on_cpu = x.device().is_cpu(), store_columns = !p.direct_columns && !on_cpu;
  Tensor col = store_columns ? Tensor::empty({g.col_rows(), g.col_cols()}, x.dtype(), x.device()) : Tensor();
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    int64_t cols = g.col_cols();
    ConvGemmShape s = gemm_shape(p);
    int64_t x_image = g.channels * g.height * g.width, y_image = p.out_channels * cols;
    const T* row_bias = bias.defined() ? bias.data<T>() : nullptr;
    for (int64_t n = 0; n < p.batch; ++n) {
      const T* xn = x.data<T>() + n * x_image;
      T* yn = y.data<T>() + n * y_image;
      if (on_cpu && p.direct_columns) {
        cpu_gemm<T>(conv_forward_gemm(s), 1, weight.data<T>(), xn, 0, yn, row_bias);
      } else if (on_cpu) {
        cpu_gemm_columns<T>(gathered(conv_forward_gemm(s), p), 1, weight.data<T>(), group_geometry(p), xn, 0, yn, row_bias);
      } else {
        if (store_columns) im2col(x.device(), g, xn, col.data<T>());
        conv_gemm_forward<T>(x.device(), s, weight.data<T>(), store_columns ? col.data<T>() : xn, yn);
      }
    }
    if (!on_cpu && row_bias) add_bias<T>(x.device(), {p.batch, p.out_channels, cols}, row_bias, y.data<T>());
  });
  return y;
}

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias,
                            const Conv2dOptions& options) {
  ConvPlan p = plan_conv(x, weight, nullptr, options, "conv2d_backward");
  check_compatible(dy, x, "conv2d_backward", "dy", "x");
  check_shape(dy, p.out_shape, "conv2d_backward", "dy");
  const ConvGeometry& g = p.geo;
  // Every path below writes each gradient whole; only an empty batch leaves them to be zeroed.
  Conv2dGrads grads;
  grads.dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  grads.dweight = Tensor::empty(weight.shape(), x.dtype(), x.device());
  if (has_bias) grads.dbias = Tensor::empty({p.out_channels}, x.dtype(), x.device());
  if (dy.numel() == 0) {
    for (Tensor* t : {&grads.dx, &grads.dweight, &grads.dbias})
      if (t->defined()) t->fill_zero();
    return grads;
  }
  if (p.depthwise) {
    dispatch_floating(x.dtype(), [&](auto zero) {
      using T = decltype(zero);
      int64_t planes = p.batch * p.in_channels;
      auto args = std::make_tuple(g, planes, p.in_channels, x.data<T>(), weight.data<T>(), dy.data<T>(),
                                  grads.dx.data<T>(), grads.dweight.data<T>());
      if (x.device().is_cpu()) std::apply([](auto&&... a) { cpu_depthwise_backward<T>(a...); }, args);
      else DMDLK_CUDA_DISPATCH(std::apply([&](auto&&... a) { cuda_ops::depthwise_backward<T>(x.device().index, a...); }, args));
      if (has_bias) bias_grad<T>(x.device(), {p.batch, p.out_channels, g.col_cols()}, dy.data<T>(), grads.dbias.data<T>());
    });
    return grads;
  }
  bool on_cpu = x.device().is_cpu();
  bool dx_by_convolution = on_cpu && !p.direct_columns && dx_is_a_convolution(p);
  bool store_columns = !p.direct_columns && !on_cpu;
  Tensor col = store_columns ? Tensor::empty({g.col_rows(), g.col_cols()}, x.dtype(), x.device()) : Tensor();
  Tensor dcol = p.direct_columns || dx_by_convolution ? Tensor() : Tensor::empty({g.col_rows(), g.col_cols()}, x.dtype(), x.device());
  Tensor flipped = dx_by_convolution ? flipped_transposed_weight(weight, p.groups) : Tensor();
  ConvPlan transposed = dx_by_convolution ? transposed_plan(p) : ConvPlan();
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    int64_t cols = g.col_cols();
    ConvGemmShape s = gemm_shape(p);
    int64_t x_image = g.channels * g.height * g.width, y_image = p.out_channels * cols;
    for (int64_t n = 0; n < p.batch; ++n) {
      const T* dyn = dy.data<T>() + n * y_image;
      const T* xn = x.data<T>() + n * x_image;
      T* dxn = grads.dx.data<T>() + n * x_image;
      if (p.direct_columns) {
        conv_gemm_weight_grad<T>(x.device(), s, dyn, xn, n > 0, grads.dweight.data<T>());
        conv_gemm_column_grad<T>(x.device(), s, weight.data<T>(), dyn, dxn);
        continue;
      }
      if (store_columns) {
        im2col(x.device(), g, xn, col.data<T>());
        conv_gemm_weight_grad<T>(x.device(), s, dyn, col.data<T>(), n > 0, grads.dweight.data<T>());
      } else {
        cpu_gemm_columns<T>(gathered(conv_weight_grad_gemm(s), p), 1, dyn, group_geometry(p), xn, n > 0 ? 1 : 0,
                            grads.dweight.data<T>());
      }
      if (dx_by_convolution) {
        cpu_gemm_columns<T>(gathered(conv_forward_gemm(gemm_shape(transposed)), transposed), 1, flipped.data<T>(),
                            group_geometry(transposed), dyn, 0, dxn);
      } else {
        conv_gemm_column_grad<T>(x.device(), s, weight.data<T>(), dyn, dcol.data<T>());
        col2im(x.device(), g, dcol.data<T>(), dxn);
      }
    }
    if (has_bias) bias_grad<T>(x.device(), {p.batch, p.out_channels, cols}, dy.data<T>(), grads.dbias.data<T>());
  });
  return grads;
}

// ---- the graph's conv2d: inputs x, weight and, when it has one, bias --------------
extern const OpDef conv2d_op{
    OpKind::Conv2d, "conv2d",
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      return std::vector<Shape>{conv_plan(in[0], in[1], std::get<Conv2dOptions>(a), "conv2d").out_shape};
    },
    [](const Tensors& in, const OpAttrs& a) {
      return Tensors{conv2d(in[0], in[1], in.size() > 2 ? in[2] : Tensor(), std::get<Conv2dOptions>(a))};
    },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs& a) {
      Conv2dGrads g = conv2d_backward(d[0], in[0], in[1], in.size() > 2, std::get<Conv2dOptions>(a));
      return Tensors{g.dx, g.dweight, g.dbias};
    },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      Shape out = conv_plan(in[0], in[1], std::get<Conv2dOptions>(a), "conv2d").out_shape;
      const Shape& w = in[1];
      return OpCost{double(shape_numel(out)) * w[1] * w[2] * w[3], shapes_bytes(in) + 4.0 * shape_numel(out)};
    },
    nullptr};

}  // namespace dmdlk
