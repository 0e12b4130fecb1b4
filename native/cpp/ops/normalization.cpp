#include "ops/normalization.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "gpu/normalization.h"
#include "ops/backend.h"
#include "ops/blocked_sum.h"
#include "ops/inner_blocks.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

// ---- CPU kernels: statistics in double, one channel or one group per task ----
namespace cpu_ops {

template <typename T>
void batch_norm_forward(const ChannelLayout& l, const T* x, const T* w, const T* b, T* rm, T* rv, bool training,
                        Activation activation, T* y, T* mean, T* invstd) {
  int64_t count = l.outer * l.inner;
  parallel_for(0, l.channels, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      if (training) {
        double sum = 0, sq = 0;
        for (int64_t o = 0; o < l.outer; ++o) {
          const T* row = x + (o * l.channels + c) * l.inner;
          sum += blocked_sum<T>(l.inner, [&](int64_t i) { return row[i]; });
        }
        double m = sum / count;
        for (int64_t o = 0; o < l.outer; ++o) {
          const T* row = x + (o * l.channels + c) * l.inner;
          T mt = T(m);
          sq += blocked_sum<T>(l.inner, [&](int64_t i) { return (row[i] - mt) * (row[i] - mt); });
        }
        mean[c] = T(m), invstd[c] = T(1.0 / std::sqrt(sq / count + kNormEps));
        rm[c] = T((1 - kBatchNormMomentum) * rm[c] + kBatchNormMomentum * m);
        rv[c] = T((1 - kBatchNormMomentum) * rv[c] + kBatchNormMomentum * sq / double(count - 1));
      } else {
        mean[c] = rm[c], invstd[c] = T(1.0 / std::sqrt(double(rv[c]) + kNormEps));
      }
      T scale = invstd[c] * w[c], shift = b[c] - mean[c] * scale;
      for (int64_t o = 0; o < l.outer; ++o) {
        int64_t row = (o * l.channels + c) * l.inner;
        for (int64_t i = 0; i < l.inner; ++i) y[row + i] = x[row + i] * scale + shift;
        if (activation != Activation::Identity) activate_span(activation, y + row, y + row, 0, l.inner);
      }
    }
  });
}

template <typename T>
void batch_norm_backward(const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* b, const T* mean,
                         const T* invstd, bool training, Activation activation, bool accumulate_dx, T* dx, T* dw,
                         T* db) {
  double count = double(l.outer * l.inner);
  parallel_for(0, l.channels, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> dz;  // a channel's dy · activation'(z), z the forward's normalised x (as it computed it)
    for (int64_t c = lo; c < hi; ++c) {
      double sum_dy = 0, sum_dy_xc = 0;  // Σ dy and Σ dy·(x − mean), dy at the normalisation's output
      T mc = mean[c];
      if (activation != Activation::Identity) {
        dz.resize(size_t(l.outer * l.inner));
        T scale = invstd[c] * w[c], shift = b[c] - mc * scale;
        for (int64_t o = 0; o < l.outer; ++o) {
          int64_t row = (o * l.channels + c) * l.inner;
          T* z = dz.data() + o * l.inner;
          for (int64_t i = 0; i < l.inner; ++i) z[i] = x[row + i] * scale + shift;
          activate_grad_span(activation, dy + row, z, z, 0, l.inner);
        }
      }
      auto dy_row = [&](int64_t o) {
        return activation != Activation::Identity ? dz.data() + o * l.inner : dy + (o * l.channels + c) * l.inner;
      };
      for (int64_t o = 0; o < l.outer; ++o) {
        int64_t row = (o * l.channels + c) * l.inner;
        const T *dyr = dy_row(o), *xr = x + row;
        sum_dy += blocked_sum<T>(l.inner, [&](int64_t i) { return dyr[i]; });
        sum_dy_xc += blocked_sum<T>(l.inner, [&](int64_t i) { return dyr[i] * (xr[i] - mc); });
      }
      double sum_dy_xhat = sum_dy_xc * invstd[c];
      dw[c] = T(sum_dy_xhat), db[c] = T(sum_dy);
      // dx = k·(dy − Σdy/count − (x − mean)·invstd·Σ(dy·x̂)/count), in T so that it vectorizes.
      T k = T(double(w[c]) * invstd[c]);
      T shift = training ? T(sum_dy / count) : T(0), slope = training ? T(sum_dy_xhat / count * invstd[c]) : T(0);
      for (int64_t o = 0; o < l.outer; ++o) {
        int64_t row = (o * l.channels + c) * l.inner;
        const T* dyr = dy_row(o);
        if (accumulate_dx)
          for (int64_t i = 0; i < l.inner; ++i) dx[row + i] += k * (dyr[i] - shift - (x[row + i] - mc) * slope);
        else
          for (int64_t i = 0; i < l.inner; ++i) dx[row + i] = k * (dyr[i] - shift - (x[row + i] - mc) * slope);
      }
    }
  });
}

// LayerNorm over channels sees a group's channels inner elements apart, so the
// kernels below take a block of up to kPixelBlock neighbouring positions
// (inner > 1) and run every loop along them: contiguous, and vectorized.
// Statistics are in double, as the per-group path (over the last axis).
constexpr int64_t kPixelBlock = 64;

struct PixelBlock {
  int64_t first;  // element offset of channel 0 at the block's first position
  int64_t group;  // group index of that position
  int64_t size;   // positions in the block
};

template <typename Body>
void for_pixel_blocks(const ChannelLayout& l, Body body) {
  int64_t grain = std::max<int64_t>(1, 16384 / (kPixelBlock * l.channels));
  for_inner_blocks(l.outer, l.inner, kPixelBlock, grain, [&](int64_t o, int64_t p0, int64_t count) {
    body(PixelBlock{o * l.channels * l.inner + p0, o * l.inner + p0, count});
  });
}

template <typename T>
void layer_norm_block_forward(const ChannelLayout& l, const T* x, const T* w, const T* b, PixelBlock blk, T* y, T* mean,
                              T* invstd) {
  double sum[kPixelBlock] = {}, sq[kPixelBlock] = {};
  T m[kPixelBlock], is[kPixelBlock];
  int64_t n = blk.size;
  for (int64_t c = 0; c < l.channels; ++c) {
    const T* xr = x + blk.first + c * l.inner;
    for (int64_t p = 0; p < n; ++p) sum[p] += xr[p];
  }
  for (int64_t p = 0; p < n; ++p) sum[p] /= double(l.channels);
  for (int64_t c = 0; c < l.channels; ++c) {
    const T* xr = x + blk.first + c * l.inner;
    for (int64_t p = 0; p < n; ++p) sq[p] += (xr[p] - sum[p]) * (xr[p] - sum[p]);
  }
  for (int64_t p = 0; p < n; ++p) {
    m[p] = mean[blk.group + p] = T(sum[p]);
    is[p] = invstd[blk.group + p] = T(1.0 / std::sqrt(sq[p] / double(l.channels) + kNormEps));
  }
  for (int64_t c = 0; c < l.channels; ++c) {
    const T* xr = x + blk.first + c * l.inner;
    T* yr = y + blk.first + c * l.inner;
    T wc = w[c], bc = b[c];
    for (int64_t p = 0; p < n; ++p) yr[p] = (xr[p] - m[p]) * is[p] * wc + bc;
  }
}

template <typename T>
void layer_norm_block_backward(const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* mean,
                               const T* invstd, PixelBlock blk, bool accumulate_dx, T* dx) {
  // dx = invstd·(dy·w − mean_c(dy·w) − x̂·mean_c(dy·w·x̂))
  double mean_d[kPixelBlock] = {}, mean_dx[kPixelBlock] = {};
  const T *m = mean + blk.group, *is = invstd + blk.group;
  int64_t n = blk.size;
  for (int64_t c = 0; c < l.channels; ++c) {
    const T *xr = x + blk.first + c * l.inner, *dyr = dy + blk.first + c * l.inner;
    T wc = w[c];
    for (int64_t p = 0; p < n; ++p) {
      T d = dyr[p] * wc;
      mean_d[p] += d, mean_dx[p] += d * (xr[p] - m[p]) * is[p];
    }
  }
  T shift[kPixelBlock], slope[kPixelBlock];
  for (int64_t p = 0; p < n; ++p)
    shift[p] = T(mean_d[p] / double(l.channels)), slope[p] = T(mean_dx[p] / double(l.channels));
  for (int64_t c = 0; c < l.channels; ++c) {
    const T *xr = x + blk.first + c * l.inner, *dyr = dy + blk.first + c * l.inner;
    T* dxr = dx + blk.first + c * l.inner;
    T wc = w[c];
    if (accumulate_dx)
      for (int64_t p = 0; p < n; ++p) dxr[p] += is[p] * (dyr[p] * wc - shift[p] - (xr[p] - m[p]) * is[p] * slope[p]);
    else
      for (int64_t p = 0; p < n; ++p) dxr[p] = is[p] * (dyr[p] * wc - shift[p] - (xr[p] - m[p]) * is[p] * slope[p]);
  }
}

template <typename T>
void layer_norm_forward(const ChannelLayout& l, const T* x, const T* w, const T* b, T* y, T* mean, T* invstd) {
  if (l.inner > 1) {
    for_pixel_blocks(l, [&](PixelBlock blk) { layer_norm_block_forward(l, x, w, b, blk, y, mean, invstd); });
    return;
  }
  parallel_for(0, l.outer, std::max<int64_t>(1, 2048 / std::max<int64_t>(1, l.channels)), [&](int64_t lo, int64_t hi) {
    for (int64_t g = lo; g < hi; ++g) layer_norm_group(l, x, w, b, g, y, mean, invstd);
  });
}

template <typename T>
void layer_norm_backward(const ChannelLayout& l, const T* dy, const T* x, const T* w, const T* mean, const T* invstd,
                         bool accumulate_dx, T* dx, T* dw, T* db) {
  if (l.inner > 1) {
    for_pixel_blocks(
        l, [&](PixelBlock blk) { layer_norm_block_backward(l, dy, x, w, mean, invstd, blk, accumulate_dx, dx); });
  } else {
    parallel_for(0, l.outer, std::max<int64_t>(1, 2048 / std::max<int64_t>(1, l.channels)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t g = lo; g < hi; ++g)
                     layer_norm_group_backward(l, dy, x, w, mean, invstd, g, accumulate_dx, dx);
                 });
  }
  // dweight and dbias: per channel, along each of its rows of inner positions.
  parallel_for(0, l.channels, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      double sw = 0, sb = 0;
      for (int64_t o = 0; o < l.outer; ++o) {
        const T *xr = x + (o * l.channels + c) * l.inner, *dyr = dy + (o * l.channels + c) * l.inner;
        const T *m = mean + o * l.inner, *is = invstd + o * l.inner;
        sw += blocked_sum<T>(l.inner, [&](int64_t i) { return dyr[i] * (xr[i] - m[i]) * is[i]; });
        sb += blocked_sum<T>(l.inner, [&](int64_t i) { return dyr[i]; });
      }
      dw[c] = T(sw), db[c] = T(sb);
    }
  });
}

}  // namespace cpu_ops

// ---- public entries: checks, then one call to the tensors' backend ----------
namespace {

void check_params(const Tensor& x, int64_t channels, const char* op,
                  std::initializer_list<std::pair<const Tensor*, const char*>> params) {
  for (const auto& [t, name] : params) {
    check_compatible(*t, x, op, name, "x");
    check_shape(*t, {channels}, op, name);
  }
}

ChannelLayout batch_norm_layout(const Shape& x, const char* op) {
  DMDLK_CHECK(x.size() >= 2, ErrorCode::Shape, op, ": x must have rank >= 2 ([N, C, ...]), got ", shape_str(x));
  return {x[0], x[1], shape_numel(x) / std::max<int64_t>(1, x[0] * x[1])};
}

ChannelLayout batch_norm_layout(const Tensor& x, const char* op) {
  check_floating(x, op, "x");
  return batch_norm_layout(x.shape(), op);
}

ChannelLayout layer_norm_layout(const Shape& x, LayerNormAxis axis, const char* op) {
  if (axis == LayerNormAxis::Last) {
    DMDLK_CHECK(!x.empty(), ErrorCode::Shape, op, ": x must have rank >= 1, got a scalar");
    return {shape_numel(x) / std::max<int64_t>(1, x.back()), x.back(), 1};
  }
  DMDLK_CHECK(x.size() == 4, ErrorCode::Shape, op, ": x must have rank 4 ([N, C, H, W]), got shape ", shape_str(x));
  return {x[0], x[1], x[2] * x[3]};
}

ChannelLayout layer_norm_layout(const Tensor& x, LayerNormAxis axis, const char* op) {
  check_floating(x, op, "x");
  return layer_norm_layout(x.shape(), axis, op);
}

Tensor like(const Tensor& x, const Shape& shape) { return Tensor::empty(shape, x.dtype(), x.device()); }

}  // namespace

BatchNormOutput batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                           Tensor& running_var, bool training, Activation activation) {
  const char* op = "batch_norm";
  ChannelLayout l = batch_norm_layout(x, op);
  check_params(x, l.channels, op,
               {{&weight, "weight"}, {&bias, "bias"}, {&running_mean, "running_mean"}, {&running_var, "running_var"}});
  DMDLK_CHECK(!training || l.outer * l.inner > 1, ErrorCode::Shape, op,
              ": training needs more than one value per channel, x is ", shape_str(x.shape()));
  BatchNormOutput out{like(x, x.shape()), like(x, {l.channels}), like(x, {l.channels})};
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), batch_norm_forward, l, x.data<T>(), weight.data<T>(), bias.data<T>(),
                    running_mean.data<T>(), running_var.data<T>(), training, activation, out.y.data<T>(),
                    out.mean.data<T>(), out.invstd.data<T>());
  });
  return out;
}

NormGrads batch_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& bias,
                              const Tensor& mean, const Tensor& invstd, bool training, Activation activation,
                              const Tensor& dx_into) {
  const char* op = "batch_norm_backward";
  ChannelLayout l = batch_norm_layout(x, op);
  check_compatible(dy, x, op, "dy", "x");
  check_shape(dy, x.shape(), op, "dy");
  check_params(x, l.channels, op, {{&weight, "weight"}, {&bias, "bias"}, {&mean, "mean"}, {&invstd, "invstd"}});
  const bool accumulate = dx_into.defined();
  NormGrads g{gradient_tensor(x, dx_into, op), like(x, {l.channels}), like(x, {l.channels})};
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), batch_norm_backward, l, dy.data<T>(), x.data<T>(), weight.data<T>(), bias.data<T>(),
                    mean.data<T>(), invstd.data<T>(), training, activation, accumulate, g.dx.data<T>(),
                    g.dweight.data<T>(), g.dbias.data<T>());
  });
  return g;
}

LayerNormOutput layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, LayerNormAxis axis) {
  const char* op = "layer_norm";
  ChannelLayout l = layer_norm_layout(x, axis, op);
  check_params(x, l.channels, op, {{&weight, "weight"}, {&bias, "bias"}});
  LayerNormOutput out{like(x, x.shape()), like(x, {l.outer * l.inner}), like(x, {l.outer * l.inner})};
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), layer_norm_forward, l, x.data<T>(), weight.data<T>(), bias.data<T>(), out.y.data<T>(),
                    out.mean.data<T>(), out.invstd.data<T>());
  });
  return out;
}

NormGrads layer_norm_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                              const Tensor& invstd, LayerNormAxis axis, const Tensor& dx_into) {
  const char* op = "layer_norm_backward";
  ChannelLayout l = layer_norm_layout(x, axis, op);
  check_compatible(dy, x, op, "dy", "x");
  check_shape(dy, x.shape(), op, "dy");
  check_params(x, l.channels, op, {{&weight, "weight"}});
  check_compatible(mean, x, op, "mean", "x");
  check_shape(mean, {l.outer * l.inner}, op, "mean");
  check_compatible(invstd, x, op, "invstd", "x");
  check_shape(invstd, {l.outer * l.inner}, op, "invstd");
  const bool accumulate = dx_into.defined();
  NormGrads g{gradient_tensor(x, dx_into, op), like(x, {l.channels}), like(x, {l.channels})};
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), layer_norm_backward, l, dy.data<T>(), x.data<T>(), weight.data<T>(), mean.data<T>(),
                    invstd.data<T>(), accumulate, g.dx.data<T>(), g.dweight.data<T>(), g.dbias.data<T>());
  });
  return g;
}

// ---- the graph's norms -----------------------------------------------------------
// BatchNorm: inputs x, weight, bias, running_mean, running_var (the model's
// buffers, updated in place when training); outputs y (through the
// attributes' activation) and the statistics its backward reads (the
// batch's when training, the running ones otherwise).
extern const OpDef batch_norm_op{
    OpKind::BatchNorm,
    "batch_norm",
    []() -> OpAttrs { return BatchNormAttrs{}; },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      ChannelLayout l = batch_norm_layout(in[0], "batch_norm");
      return std::vector<Shape>{in[0], {l.channels}, {l.channels}};
    },
    [](const Tensors& in, const OpAttrs& a) {
      Tensor running_mean = in[3], running_var = in[4];
      const BatchNormAttrs& attrs = std::get<BatchNormAttrs>(a);
      BatchNormOutput out =
          batch_norm(in[0], in[1], in[2], running_mean, running_var, attrs.training, attrs.activation);
      return Tensors{out.y, out.mean, out.invstd};
    },
    [](const Tensors& in, const Tensors& out, const Tensors& d, const OpAttrs& a, WantedGrads wanted) {
      const BatchNormAttrs& attrs = std::get<BatchNormAttrs>(a);
      NormGrads g = batch_norm_backward(d[0], in[0], in[1], in[2], out[1], out[2], attrs.training, attrs.activation,
                                        wanted.accumulate_into(0));
      return Tensors{g.dx, g.dweight, g.dbias};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      return OpCost{0, shapes_bytes(in) + shapes_bytes({in[0]})};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs& a, Pass pass, WantedGrads) {
      ChannelLayout l = batch_norm_layout(in[0], "batch_norm");
      int64_t bytes = int64_t(dtype_size(t));
      const BatchNormAttrs& attrs = std::get<BatchNormAttrs>(a);
      return pass == Pass::Forward ? cuda_ops::plan_batch_norm_forward(l, bytes, attrs.training, attrs.activation)
                                   : cuda_ops::plan_batch_norm_backward(l, bytes, attrs.activation);
    },
    [](const std::vector<Shape>&, const OpAttrs&, size_t input) { return input == 0; },  // dx_into
};

// LayerNorm over channels (each pixel of [N, C, H, W]) or over the last axis:
// inputs x, weight, bias; outputs y and each group's mean and 1/σ.
extern const OpDef layer_norm_op{
    OpKind::LayerNorm,
    "layer_norm",
    []() -> OpAttrs { return LayerNormAxis::Channels; },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      ChannelLayout l = layer_norm_layout(in[0], std::get<LayerNormAxis>(a), "layer_norm");
      return std::vector<Shape>{in[0], {l.outer * l.inner}, {l.outer * l.inner}};
    },
    [](const Tensors& in, const OpAttrs& a) {
      LayerNormOutput out = layer_norm(in[0], in[1], in[2], std::get<LayerNormAxis>(a));
      return Tensors{out.y, out.mean, out.invstd};
    },
    [](const Tensors& in, const Tensors& out, const Tensors& d, const OpAttrs& a, WantedGrads wanted) {
      NormGrads g = layer_norm_backward(d[0], in[0], in[1], out[1], out[2], std::get<LayerNormAxis>(a),
                                        wanted.accumulate_into(0));
      return Tensors{g.dx, g.dweight, g.dbias};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      return OpCost{0, shapes_bytes(in) + shapes_bytes({in[0]})};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs& a, Pass pass, WantedGrads) {
      ChannelLayout l = layer_norm_layout(in[0], std::get<LayerNormAxis>(a), "layer_norm");
      int64_t bytes = int64_t(dtype_size(t));
      if (pass == Pass::Forward) return std::vector<cuda::LaunchPlan>{cuda_ops::plan_layer_norm_forward(l, bytes)};
      std::vector<cuda::LaunchPlan> plans{cuda_ops::plan_layer_norm_backward_dx(l, bytes)};
      cuda::append(plans, cuda_ops::plan_layer_norm_backward_params(l, bytes));
      return plans;
    },
    [](const std::vector<Shape>&, const OpAttrs&, size_t input) { return input == 0; },  // dx_into
};

}  // namespace dmdlk
