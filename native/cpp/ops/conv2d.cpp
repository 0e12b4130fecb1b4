// Convolution as im2col + one GEMM per image, batched over groups:
//   y[n, g] = W[g] · col(x[n])[g]            (M = Cout/g, K = Cin/g·kh·kw, N = Ho·Wo)
//   dW[g]  += dy[n, g] · col(x[n])[g]ᵀ
//   dx[n]   = col2im(W[g]ᵀ · dy[n, g])
// On the CPU the columns are gathered from x as the GEMM packs them, never
// stored, and with stride 1 dx is computed as a convolution of dy instead of
// through col2im; the bias is added in the GEMM's epilogue. A 1×1
// convolution with stride 1 and no padding reads x directly as its columns;
// depthwise convolutions (groups = Cin = Cout) go to direct kernels. CUDA's
// side is native/cuda/conv2d.cu.
#include "ops/conv2d.h"

#include <utility>

#include "core/thread_pool.h"
#include "gpu/conv2d.h"
#include "ops/backend.h"
#include "ops/conv_gemm.h"
#include "ops/depthwise_conv2d.h"
#include "ops/im2col.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

// The convolution of x [N, Cin, H, W] by weight [Cout, Cin/groups, kh, kw],
// from their shapes (what the graph knows before any tensor exists).
ConvPlan conv_plan(const Shape& x, const Shape& weight, const Conv2dOptions& o, const char* op) {
  DMDLK_CHECK(x.size() == 4, ErrorCode::Shape, op, ": x must have rank 4 ([N, C, H, W]), got shape ", shape_str(x));
  DMDLK_CHECK(weight.size() == 4, ErrorCode::Shape, op,
              ": weight must have rank 4 ([Cout, Cin/groups, kh, kw]), got shape ", shape_str(weight));
  DMDLK_CHECK(o.groups >= 1, ErrorCode::InvalidArg, op, ": groups must be >= 1, got ", o.groups);
  ConvPlan p;
  p.batch = x[0];
  p.in_channels = x[1];
  p.out_channels = weight[0];
  p.groups = o.groups;
  DMDLK_CHECK(p.in_channels % o.groups == 0 && p.out_channels % o.groups == 0, ErrorCode::Shape, op,
              ": groups = ", o.groups, " must divide the input channels (", p.in_channels,
              ") and the output channels (", p.out_channels, ")");
  DMDLK_CHECK(weight[1] == p.in_channels / o.groups, ErrorCode::Shape, op, ": weight must have shape [", p.out_channels,
              ", ", p.in_channels / o.groups, ", kh, kw] for x ", shape_str(x), " and groups = ", o.groups, ", got ",
              shape_str(weight));
  p.geo = conv_geometry(x, weight[2], weight[3], o, op);
  const ConvGeometry& g = p.geo;
  p.direct_columns =
      g.kernel_h == 1 && g.kernel_w == 1 && o.stride_h == 1 && o.stride_w == 1 && o.pad_h == 0 && o.pad_w == 0;
  p.depthwise = o.groups > 1 && o.groups == p.in_channels && p.out_channels == p.in_channels;
  p.out_shape = {p.batch, p.out_channels, g.out_h, g.out_w};
  return p;
}

namespace {

ConvPlan plan_conv(const Tensor& x, const Tensor& weight, const Tensor* bias, const Conv2dOptions& o, const char* op) {
  check_floating(x, op, "x");
  check_compatible(weight, x, op, "weight", "x");
  ConvPlan p = conv_plan(x.shape(), weight.shape(), o, op);
  if (bias && bias->defined()) {
    check_compatible(*bias, x, op, "bias", "x");
    check_shape(*bias, {p.out_channels}, op, "bias");
  }
  return p;
}

// One group's share of an image: the geometry gemm_columns gathers from.
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

// Scratch of the step's allocator (planned like every tensor of a step).
template <typename T>
Tensor scratch(int64_t count) {
  return Tensor::empty({count}, dtype_of<T>::value, Device::cpu());
}

// [Cout, Cin/G, kh, kw] → [G][Cin/G][Cout/G, kh, kw], taps reversed.
template <typename T>
Tensor flipped_transposed_weight(const T* w, const ConvPlan& p) {
  int64_t out = p.out_channels, in = p.in_channels / p.groups, kh = p.geo.kernel_h, kw = p.geo.kernel_w;
  int64_t group_out = out / p.groups;
  Tensor f = scratch<T>(out * in * kh * kw);
  T* dst = f.data<T>();
  for (int64_t o = 0; o < out; ++o)
    for (int64_t c = 0; c < in; ++c)
      for (int64_t t = 0; t < kh * kw; ++t) {
        int64_t grp = o / group_out, ot = o % group_out;
        dst[((grp * in + c) * group_out + ot) * kh * kw + (kh * kw - 1 - t)] = w[(o * in + c) * kh * kw + t];
      }
  return f;
}

}  // namespace

namespace cpu_ops {

// Row by row: each (channel, tap) row of the columns reads one input row per
// output row, so the inner loop is a strided copy with its bounds hoisted.
template <typename T>
void im2col(const ConvGeometry& g, const T* x, T* col) {
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
void col2im(const ConvGeometry& g, const T* dcol, T* dx, bool accumulate) {
  int64_t cols = g.col_cols(), taps = g.kernel_h * g.kernel_w;
  parallel_for(0, g.channels, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      T* plane = dx + c * g.height * g.width;
      if (!accumulate) std::fill(plane, plane + g.height * g.width, T(0));
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

template <typename T>
void conv2d_forward(const ConvPlan& p, const T* x, const T* w, const T* bias, const T* residual, T* y) {
  const ConvGeometry& g = p.geo;
  if (p.depthwise) {
    depthwise_forward(g, p.batch * p.in_channels, p.in_channels, x, w, y);
    if (bias) add_bias(ChannelLayout{p.batch, p.out_channels, g.col_cols()}, bias, y);
  } else {
    ConvGemmShape s = conv_gemm_shape(p);
    int64_t x_image = g.channels * g.height * g.width, y_image = p.out_channels * g.col_cols();
    for (int64_t n = 0; n < p.batch; ++n) {
      if (p.direct_columns) gemm<T>(conv_forward_gemm(s), 1, w, x + n * x_image, 0, y + n * y_image, bias);
      else
        gemm_columns<T>(gathered(conv_forward_gemm(s), p), 1, w, group_geometry(p), x + n * x_image, 0, y + n * y_image,
                        bias);
    }
  }
  if (residual)
    parallel_for(0, p.batch * p.out_channels * g.col_cols(), 16384, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) y[i] += residual[i];
    });
}

// Every path writes each gradient whole (db only where there is a bias, dx
// only where asked for: null skips the input gradient but in depthwise), or,
// with `accumulate_dx` (not depthwise), adds dx into what dx holds.
template <typename T>
void conv2d_backward(const ConvPlan& p, const T* dy, const T* x, const T* w, bool accumulate_dx, T* dx, T* dw, T* db) {
  const ConvGeometry& g = p.geo;
  if (p.depthwise) {
    DMDLK_CHECK(dx && !accumulate_dx, ErrorCode::Internal,
                "conv2d_backward: the depthwise kernel computes dx with dweight, and writes it");
    depthwise_backward(g, p.batch * p.in_channels, p.in_channels, x, w, dy, dx, dw);
    if (db) bias_grad(ChannelLayout{p.batch, p.out_channels, g.col_cols()}, dy, db);
    return;
  }
  bool dx_by_convolution = dx && !p.direct_columns && dx_is_a_convolution(p);
  Tensor dcol = !dx || p.direct_columns || dx_by_convolution ? Tensor() : scratch<T>(g.col_rows() * g.col_cols());
  Tensor flipped = dx_by_convolution ? flipped_transposed_weight(w, p) : Tensor();
  ConvPlan transposed = dx_by_convolution ? transposed_plan(p) : ConvPlan();
  ConvGemmShape s = conv_gemm_shape(p);
  int64_t x_image = g.channels * g.height * g.width, y_image = p.out_channels * g.col_cols();
  for (int64_t n = 0; n < p.batch; ++n) {
    const T *dyn = dy + n * y_image, *xn = x + n * x_image;
    T* dxn = dx ? dx + n * x_image : nullptr;
    if (p.direct_columns) {
      gemm<T>(conv_weight_grad_gemm(s), 1, dyn, xn, n > 0 ? 1 : 0, dw);
      if (dxn) gemm<T>(conv_column_grad_gemm(s), 1, w, dyn, accumulate_dx ? 1 : 0, dxn);
      continue;
    }
    gemm_columns<T>(gathered(conv_weight_grad_gemm(s), p), 1, dyn, group_geometry(p), xn, n > 0 ? 1 : 0, dw);
    if (!dxn) continue;
    if (dx_by_convolution) {
      gemm_columns<T>(gathered(conv_forward_gemm(conv_gemm_shape(transposed)), transposed), 1, flipped.data<T>(),
                      group_geometry(transposed), dyn, accumulate_dx ? 1 : 0, dxn);
    } else {
      gemm<T>(conv_column_grad_gemm(s), 1, w, dyn, 0, dcol.data<T>());
      col2im(g, dcol.data<T>(), dxn, accumulate_dx);
    }
  }
  if (db) bias_grad(ChannelLayout{p.batch, p.out_channels, g.col_cols()}, dy, db);
}

#define INSTANTIATE(T)                                        \
  template void im2col<T>(const ConvGeometry&, const T*, T*); \
  template void col2im<T>(const ConvGeometry&, const T*, T*, bool);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)
#undef INSTANTIATE

}  // namespace cpu_ops

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
              const Tensor& residual) {
  ConvPlan p = plan_conv(x, weight, &bias, options, "conv2d");
  DMDLK_CHECK(options.residual == residual.defined(), ErrorCode::InvalidArg, "conv2d: the 'residual' attribute is ",
              options.residual ? "true" : "false", " but a residual tensor was ", residual.defined() ? "" : "not ",
              "given");
  if (residual.defined()) {
    check_compatible(residual, x, "conv2d", "residual", "x");
    check_shape(residual, p.out_shape, "conv2d", "residual");
  }
  Tensor y = Tensor::empty(p.out_shape, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), conv2d_forward, p, x.data<T>(), weight.data<T>(),
                    bias.defined() ? bias.data<T>() : nullptr, residual.defined() ? residual.data<T>() : nullptr,
                    y.data<T>());
  });
  return y;
}

Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias,
                            const Conv2dOptions& options, bool input_grad, const Tensor& dx_into) {
  ConvPlan p = plan_conv(x, weight, nullptr, options, "conv2d_backward");
  check_compatible(dy, x, "conv2d_backward", "dy", "x");
  check_shape(dy, p.out_shape, "conv2d_backward", "dy");
  // The depthwise kernel writes dx with dweight: it does not add into one.
  const bool accumulate = dx_into.defined() && input_grad && !p.depthwise;
  if (accumulate) check_accumulator(dx_into, x, "conv2d_backward");
  Conv2dGrads grads;
  if (accumulate) grads.dx = dx_into;
  else if (input_grad || p.depthwise) grads.dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  grads.dweight = Tensor::empty(weight.shape(), x.dtype(), x.device());
  if (has_bias) grads.dbias = Tensor::empty({p.out_channels}, x.dtype(), x.device());
  if (dy.numel() == 0) {  // the kernels below write every gradient whole, from a batch of at least one
    for (Tensor* t : {&grads.dx, &grads.dweight, &grads.dbias})
      if (t->defined() && !(t == &grads.dx && accumulate)) t->fill_zero();
    return grads;
  }
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), conv2d_backward, p, dy.data<T>(), x.data<T>(), weight.data<T>(), accumulate,
                    grads.dx.defined() ? grads.dx.data<T>() : nullptr, grads.dweight.data<T>(),
                    has_bias ? grads.dbias.data<T>() : nullptr);
  });
  return grads;
}

// ---- the graph's conv2d: inputs x, weight, [bias], [residual] ---------------------
namespace {

// Whether the node's inputs include a bias: a third input, unless it is the residual.
bool has_bias(size_t inputs, const OpAttrs& a) { return inputs > (std::get<Conv2dOptions>(a).residual ? 3u : 2u); }

}  // namespace

extern const OpDef conv2d_op{
    OpKind::Conv2d,
    "conv2d",
    []() -> OpAttrs { return Conv2dOptions{}; },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      const auto& o = std::get<Conv2dOptions>(a);
      Shape out = conv_plan(in[0], in[1], o, "conv2d").out_shape;
      DMDLK_CHECK(!o.residual || (in.size() >= 3 && in.back() == out), ErrorCode::Shape,
                  "conv2d: the residual must have the result's shape ", shape_str(out));
      return std::vector<Shape>{out};
    },
    [](const Tensors& in, const OpAttrs& a) {
      const auto& o = std::get<Conv2dOptions>(a);
      return Tensors{
          conv2d(in[0], in[1], has_bias(in.size(), a) ? in[2] : Tensor(), o, o.residual ? in.back() : Tensor())};
    },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs& a, WantedGrads wanted) {
      const bool bias = has_bias(in.size(), a);
      Conv2dGrads g =
          conv2d_backward(d[0], in[0], in[1], bias, std::get<Conv2dOptions>(a), wanted[0], wanted.accumulate_into(0));
      Tensors grads{g.dx, g.dweight};
      if (bias) grads.push_back(g.dbias);
      if (std::get<Conv2dOptions>(a).residual) grads.push_back(d[0]);  // the residual's gradient is dy itself
      return grads;
    },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      Shape out = conv_plan(in[0], in[1], std::get<Conv2dOptions>(a), "conv2d").out_shape;
      const Shape& w = in[1];
      return OpCost{double(shape_numel(out)) * w[1] * w[2] * w[3], shapes_bytes(in) + 4.0 * shape_numel(out)};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs& a, Pass pass, WantedGrads wanted) {
      const auto& o = std::get<Conv2dOptions>(a);
      ConvPlan p = conv_plan(in[0], in[1], o, "conv2d");
      int64_t bytes = int64_t(dtype_size(t));
      const bool bias = has_bias(in.size(), a);
      return pass == Pass::Forward ? cuda_ops::plan_conv2d_forward(p, bytes, bias, o.residual)
                                   : cuda_ops::plan_conv2d_backward(p, bytes, bias, wanted[0]);
    },
    // adds_into: dx_into, but in the depthwise kernel
    [](const std::vector<Shape>& in, const OpAttrs& a, size_t input) {
      return input == 0 && !conv_plan(in[0], in[1], std::get<Conv2dOptions>(a), "conv2d").depthwise;
    },
    // passes_gradient: the residual's
    [](const std::vector<Shape>& in, const OpAttrs& a, size_t input) {
      return std::get<Conv2dOptions>(a).residual && input == in.size() - 1;
    },
};

}  // namespace dmdlk
