#include "ops/pooling.h"

#include <algorithm>

#include "core/thread_pool.h"
#include "gpu/pooling.h"
#include "ops/backend.h"
#include "ops/blocked_sum.h"
#include "ops/conv_geometry.h"
#include "ops/inner_blocks.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

// The windows of a pooling over x [N, C, H, W], from its shape.
PoolGeometry pool_geometry(const Shape& x, int64_t kernel, int64_t stride, int64_t pad, const char* op) {
  DMDLK_CHECK(x.size() == 4, ErrorCode::Shape, op, ": x must have rank 4 ([N, C, H, W]), got shape ", shape_str(x));
  DMDLK_CHECK(kernel >= 1 && stride >= 1 && pad >= 0 && 2 * pad <= kernel, ErrorCode::InvalidArg, op, ": kernel ",
              kernel, ", stride ", stride, " and padding ", pad,
              " must satisfy kernel >= 1, stride >= 1, 0 <= padding <= kernel / 2");
  PoolGeometry g{x[2], x[3], kernel, stride, pad, 0, 0};
  DMDLK_CHECK(g.height + 2 * pad >= kernel && g.width + 2 * pad >= kernel, ErrorCode::Shape, op, ": the ", kernel, "×",
              kernel, " window is larger than the padded input ", shape_str(x));
  g.out_h = conv_output_size(g.height, kernel, stride, pad, 1);
  g.out_w = conv_output_size(g.width, kernel, stride, pad, 1);
  return g;
}

PoolGeometry pool_geometry(const Tensor& x, int64_t kernel, int64_t stride, int64_t pad, const char* op) {
  check_floating(x, op, "x");
  return pool_geometry(x.shape(), kernel, stride, pad, op);
}

// The CPU reduces over channels for a block of up to kPixelBlock neighbouring
// pixels at a time, each loop running along contiguous pixels (a pixel's
// channels are H·W apart), in channel order, so that both backends give the
// same sums and the same winners (ChannelReduce's rule in pooling.h).
constexpr int64_t kPixelBlock = 256;

// The first channel holding each pixel's maximum (NaN counts as the maximum).
// v wins over a number b when above it or NaN; nothing wins over NaN. Both
// new values are computed before either is stored, and the arrays cannot
// alias: the loop then has no branch and vectorizes.
template <typename T>
void channel_argmax_block(const T* x, int64_t c, int64_t hw, int64_t count, int32_t* __restrict best) {
  T best_value[kPixelBlock];
  std::fill(best, best + count, 0);
  std::copy(x, x + count, best_value);
  for (int32_t k = 1; k < int32_t(c); ++k) {
    const T* __restrict row = x + k * hw;
    for (int64_t i = 0; i < count; ++i) {
      T v = row[i], b = best_value[i];
      bool wins = !(v <= b) & (b == b);
      T value = wins ? v : b;
      int32_t index = wins ? k : best[i];
      best_value[i] = value;
      best[i] = index;
    }
  }
}

// max_pool2d's 2×2 windows at stride 2 (the network's max pool), up to
// kPixelBlock windows of one output row at a time: their four inputs are laid
// out as four rows in the window's row-major order, so that
// channel_argmax_block's vectorized search picks each window's first maximum,
// NaN counting as the maximum — max_pool_argmax's rule — without branches.
bool is_max_pool_2x2(PoolKind kind, const PoolGeometry& g) {
  return kind == PoolKind::Max && g.kernel == 2 && g.stride == 2 && g.pad == 0;
}

template <typename T>
void max_pool_2x2_winners(const T* top, const T* bottom, int64_t count, T* candidates, int32_t* which) {
  for (int64_t i = 0; i < count; ++i) {
    candidates[i] = top[2 * i];
    candidates[kPixelBlock + i] = top[2 * i + 1];
    candidates[2 * kPixelBlock + i] = bottom[2 * i];
    candidates[3 * kPixelBlock + i] = bottom[2 * i + 1];
  }
  channel_argmax_block(candidates, 4, kPixelBlock, count, which);
}

// Forward: each window's winner. Backward: each window's gradient to its
// winner and zeros to the other three (every input lies in at most one
// window; an odd last row or column, in none, gets zeros).
template <typename T>
void max_pool_2x2(const PoolGeometry& g, int64_t planes, const T* x, const T* dy, bool accumulate, T* y, T* dx) {
  parallel_for(0, planes * g.out_h, std::max<int64_t>(1, 2048 / g.out_w), [&](int64_t lo, int64_t hi) {
    T candidates[4 * kPixelBlock], grads[4][kPixelBlock];
    int32_t which[kPixelBlock];
    for (int64_t r = lo; r < hi; ++r) {
      int64_t p = r / g.out_h, oy = r % g.out_h;
      const T* top = x + (p * g.height + 2 * oy) * g.width;
      T* dx_top = dx ? dx + (p * g.height + 2 * oy) * g.width : nullptr;
      for (int64_t ox0 = 0; ox0 < g.out_w; ox0 += kPixelBlock) {
        int64_t count = std::min(kPixelBlock, g.out_w - ox0);
        max_pool_2x2_winners(top + 2 * ox0, top + g.width + 2 * ox0, count, candidates, which);
        if (y) {
          for (int64_t i = 0; i < count; ++i) y[r * g.out_w + ox0 + i] = candidates[which[i] * kPixelBlock + i];
          continue;
        }
        const T* d = dy + r * g.out_w + ox0;
        for (int32_t k = 0; k < 4; ++k)
          for (int64_t i = 0; i < count; ++i) {
            T grad = d[i];  // loaded unconditionally: a select, not a branch
            grads[k][i] = which[i] == k ? grad : T(0);
          }
        T *out_top = dx_top + 2 * ox0, *out_bottom = out_top + g.width;
        if (accumulate) {
          for (int64_t i = 0; i < count; ++i) {
            out_top[2 * i] += grads[0][i], out_top[2 * i + 1] += grads[1][i];
            out_bottom[2 * i] += grads[2][i], out_bottom[2 * i + 1] += grads[3][i];
          }
          continue;
        }
        for (int64_t i = 0; i < count; ++i) {
          out_top[2 * i] = grads[0][i], out_top[2 * i + 1] = grads[1][i];
          out_bottom[2 * i] = grads[2][i], out_bottom[2 * i + 1] = grads[3][i];
        }
      }
      if (!dx || accumulate) continue;
      if (g.width % 2) dx_top[g.width - 1] = dx_top[2 * g.width - 1] = T(0);
      if (g.height % 2 && oy == g.out_h - 1) std::fill(dx_top + 2 * g.width, dx_top + 3 * g.width, T(0));
    }
  });
}

}  // namespace

namespace cpu_ops {

template <typename T>
void pool2d_forward(PoolKind kind, const PoolGeometry& g, int64_t planes, const T* x, T* y) {
  if (is_max_pool_2x2(kind, g)) return max_pool_2x2<T>(g, planes, x, nullptr, false, y, nullptr);
  parallel_for(0, planes * g.out_h, std::max<int64_t>(1, 2048 / g.out_w), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t p = r / g.out_h, oy = r % g.out_h;
      const T* plane = x + p * g.height * g.width;
      for (int64_t ox = 0; ox < g.out_w; ++ox)
        y[r * g.out_w + ox] =
            kind == PoolKind::Avg ? avg_pool_at(g, plane, oy, ox) : plane[max_pool_argmax(g, plane, oy, ox)];
    }
  });
}

// The transpose of the forward, one plane per task: each output adds its
// gradient into the inputs its window read (the first maximum, or every input
// at 1/count), in the order of the outputs — the sums of avg/max_pool_grad_at,
// without searching for the outputs of each input.
template <typename T>
void pool2d_backward(PoolKind kind, const PoolGeometry& g, int64_t planes, const T* x, const T* dy, bool accumulate,
                     T* dx) {
  if (is_max_pool_2x2(kind, g)) return max_pool_2x2<T>(g, planes, x, dy, accumulate, nullptr, dx);
  parallel_for(0, planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T *plane = x + p * g.height * g.width, *dy_plane = dy + p * g.out_h * g.out_w;
      T* dx_plane = dx + p * g.height * g.width;
      if (!accumulate) std::fill(dx_plane, dx_plane + g.height * g.width, T(0));
      for (int64_t oy = 0; oy < g.out_h; ++oy)
        for (int64_t ox = 0; ox < g.out_w; ++ox) {
          T d = dy_plane[oy * g.out_w + ox];
          if (kind == PoolKind::Max) {
            dx_plane[max_pool_argmax(g, plane, oy, ox)] += d;
            continue;
          }
          int64_t y0, y1, x0, x1;
          pool_window(g, oy, ox, &y0, &y1, &x0, &x1);
          T share = d / T((y1 - y0) * (x1 - x0));
          for (int64_t y = y0; y < y1; ++y)
            for (int64_t xx = x0; xx < x1; ++xx) dx_plane[y * g.width + xx] += share;
        }
    }
  });
}

template <typename T>
void channel_reduce_forward(ChannelReduce kind, int64_t n, int64_t c, int64_t hw, const T* x, T* y) {
  const int64_t outputs = reduced_channels(kind);
  for_inner_blocks(n, hw, kPixelBlock, 1, [&](int64_t b, int64_t p0, int64_t count) {
    const T* xb = x + b * c * hw + p0;
    T* out = y + b * outputs * hw + p0;  // the mean's channel, then the maximum's
    if (kind != ChannelReduce::Max) {
      std::fill(out, out + count, T(0));
      for (int64_t k = 0; k < c; ++k)
        for (int64_t i = 0; i < count; ++i) out[i] += xb[k * hw + i];
      for (int64_t i = 0; i < count; ++i) out[i] /= T(c);
    }
    if (kind != ChannelReduce::Mean) {
      T* maxima = kind == ChannelReduce::Max ? out : out + hw;
      int32_t best[kPixelBlock];
      channel_argmax_block(xb, c, hw, count, best);
      for (int64_t i = 0; i < count; ++i) maxima[i] = xb[best[i] * hw + i];
    }
  });
}

template <typename T>
void channel_reduce_backward(ChannelReduce kind, int64_t n, int64_t c, int64_t hw, const T* x, const T* dy,
                             bool accumulate, T* dx) {
  const int64_t outputs = reduced_channels(kind);
  for_inner_blocks(n, hw, kPixelBlock, 1, [&](int64_t b, int64_t p0, int64_t count) {
    const T* d = dy + b * outputs * hw + p0;
    const T* d_mean = kind == ChannelReduce::Max ? nullptr : d;
    const T* d_max = kind == ChannelReduce::Mean ? nullptr : kind == ChannelReduce::Max ? d : d + hw;
    T* out = dx + b * c * hw + p0;
    int32_t best[kPixelBlock];
    if (d_max) channel_argmax_block(x + b * c * hw + p0, c, hw, count, best);
    for (int32_t k = 0; k < int32_t(c); ++k) {
      T* __restrict row = out + k * hw;
      if (!accumulate) std::fill(row, row + count, T(0));
      if (d_mean)
        for (int64_t i = 0; i < count; ++i) row[i] += d_mean[i] / T(c);
      if (d_max)
        for (int64_t i = 0; i < count; ++i) {
          T grad = d_max[i];  // loaded unconditionally, so the choice below is a select, not a branch
          row[i] += best[i] == k ? grad : T(0);
        }
    }
  });
}

// The mean of each plane, summed in vector lanes (blocked_sum.h).
template <typename T>
void global_avg_pool_forward(int64_t planes, int64_t size, const T* x, T* y) {
  parallel_for(0, planes, std::max<int64_t>(1, 4096 / size), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T* plane = x + p * size;
      y[p] = T(blocked_sum<T>(size, [&](int64_t i) { return plane[i]; }) / double(size));
    }
  });
}

template <typename T>
void global_avg_pool_backward(int64_t planes, int64_t size, const T* dy, bool accumulate, T* dx) {
  parallel_for(0, planes, std::max<int64_t>(1, 16384 / size), [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T grad = dy[p] / T(size);
      if (accumulate)
        for (int64_t i = p * size; i < (p + 1) * size; ++i) dx[i] += grad;
      else std::fill(dx + p * size, dx + (p + 1) * size, grad);
    }
  });
}

}  // namespace cpu_ops

namespace {

Tensor pool_forward(PoolKind kind, const Tensor& x, const PoolGeometry& g) {
  Tensor y = Tensor::empty({x.dim(0), x.dim(1), g.out_h, g.out_w}, x.dtype(), x.device());
  int64_t planes = x.dim(0) * x.dim(1);
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), pool2d_forward, kind, g, planes, x.data<T>(), y.data<T>());
  });
  return y;
}

Tensor pool_backward(PoolKind kind, const Tensor& dy, const Tensor& x, const PoolGeometry& g, const char* op,
                     const Tensor& dx_into) {
  check_compatible(dy, x, op, "dy", "x");
  check_shape(dy, {x.dim(0), x.dim(1), g.out_h, g.out_w}, op, "dy");
  Tensor dx = gradient_tensor(x, dx_into, op);
  int64_t planes = x.dim(0) * x.dim(1);
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), pool2d_backward, kind, g, planes, x.data<T>(), dy.data<T>(), dx_into.defined(),
                    dx.data<T>());
  });
  return dx;
}

void check_image(const Tensor& x, const char* op) {
  check_floating(x, op, "x");
  check_rank(x, 4, op, "x", "[N, C, H, W]");
}

Tensor channel_reduce(ChannelReduce kind, const Tensor& x, const char* op) {
  check_image(x, op);
  DMDLK_CHECK(x.dim(1) >= 1, ErrorCode::Shape, op, ": x has no channels: ", shape_str(x.shape()));
  int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  Tensor y = Tensor::empty({n, reduced_channels(kind), x.dim(2), x.dim(3)}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), channel_reduce_forward, kind, n, c, hw, x.data<T>(), y.data<T>());
  });
  return y;
}

Tensor channel_reduce_backward(ChannelReduce kind, const Tensor& dy, const Tensor& x, const char* op,
                               const Tensor& dx_into) {
  check_image(x, op);
  check_compatible(dy, x, op, "dy", "x");
  check_shape(dy, {x.dim(0), reduced_channels(kind), x.dim(2), x.dim(3)}, op, "dy");
  int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  Tensor dx = gradient_tensor(x, dx_into, op);
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *xp = x.data<T>(), *dyp = dy.data<T>();
    T* dxp = dx.data<T>();
    DMDLK_ON_DEVICE(x.device(), channel_reduce_backward, kind, n, c, hw, xp, dyp, dx_into.defined(), dxp);
  });
  return dx;
}

}  // namespace

Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t pad) {
  return pool_forward(PoolKind::Avg, x, pool_geometry(x, kernel, stride, pad, "avg_pool2d"));
}

Tensor avg_pool2d_backward(const Tensor& dy, const Tensor& x, int64_t kernel, int64_t stride, int64_t pad,
                           const Tensor& dx_into) {
  const char* op = "avg_pool2d_backward";
  return pool_backward(PoolKind::Avg, dy, x, pool_geometry(x, kernel, stride, pad, op), op, dx_into);
}

Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride) {
  return pool_forward(PoolKind::Max, x, pool_geometry(x, kernel, stride, 0, "max_pool2d"));
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& x, int64_t kernel, int64_t stride, const Tensor& dx_into) {
  const char* op = "max_pool2d_backward";
  return pool_backward(PoolKind::Max, dy, x, pool_geometry(x, kernel, stride, 0, op), op, dx_into);
}

Tensor global_avg_pool(const Tensor& x) {
  check_image(x, "global_avg_pool");
  int64_t planes = x.dim(0) * x.dim(1), size = x.dim(2) * x.dim(3);
  DMDLK_CHECK(size > 0, ErrorCode::Shape, "global_avg_pool: x has no pixels: ", shape_str(x.shape()));
  Tensor y = Tensor::empty({x.dim(0), x.dim(1), 1, 1}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), global_avg_pool_forward, planes, size, x.data<T>(), y.data<T>());
  });
  return y;
}

Tensor global_avg_pool_backward(const Tensor& dy, const Tensor& x, const Tensor& dx_into) {
  const char* op = "global_avg_pool_backward";
  check_image(x, op);
  check_compatible(dy, x, op, "dy", "x");
  check_shape(dy, {x.dim(0), x.dim(1), 1, 1}, op, "dy");
  int64_t planes = x.dim(0) * x.dim(1), size = x.dim(2) * x.dim(3);
  Tensor dx = gradient_tensor(x, dx_into, op);
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), global_avg_pool_backward, planes, size, dy.data<T>(), dx_into.defined(), dx.data<T>());
  });
  return dx;
}

Tensor channel_mean(const Tensor& x) { return channel_reduce(ChannelReduce::Mean, x, "channel_mean"); }
Tensor channel_mean_backward(const Tensor& dy, const Tensor& x, const Tensor& dx_into) {
  return channel_reduce_backward(ChannelReduce::Mean, dy, x, "channel_mean_backward", dx_into);
}
Tensor channel_max(const Tensor& x) { return channel_reduce(ChannelReduce::Max, x, "channel_max"); }
Tensor channel_max_backward(const Tensor& dy, const Tensor& x, const Tensor& dx_into) {
  return channel_reduce_backward(ChannelReduce::Max, dy, x, "channel_max_backward", dx_into);
}
Tensor channel_pool(const Tensor& x) { return channel_reduce(ChannelReduce::MeanMax, x, "channel_pool"); }
Tensor channel_pool_backward(const Tensor& dy, const Tensor& x, const Tensor& dx_into) {
  return channel_reduce_backward(ChannelReduce::MeanMax, dy, x, "channel_pool_backward", dx_into);
}

// ---- the graph's poolings and channel reductions ----------------------------------
namespace {

std::vector<Shape> pooled_shape(const std::vector<Shape>& in, const OpAttrs& attrs, const char* op) {
  const auto& a = std::get<PoolAttrs>(attrs);
  PoolGeometry g = pool_geometry(in[0], a.kernel, a.stride, a.pad, op);
  return {{in[0][0], in[0][1], g.out_h, g.out_w}};
}

// An image [N, C, H, W] reduced to `per_pixel` values per pixel ([N, per_pixel, H, W]) or, with none, one per
// plane ([N, C, 1, 1]).
std::vector<Shape> image_reduced(const Shape& x, int64_t per_pixel, const char* op) {
  DMDLK_CHECK(x.size() == 4, ErrorCode::Shape, op, ": x must have rank 4 ([N, C, H, W]), got shape ", shape_str(x));
  if (per_pixel) {
    DMDLK_CHECK(x[1] >= 1, ErrorCode::Shape, op, ": x has no channels: ", shape_str(x));
    return {{x[0], per_pixel, x[2], x[3]}};
  }
  DMDLK_CHECK(x[2] * x[3] > 0, ErrorCode::Shape, op, ": x has no pixels: ", shape_str(x));
  return {{x[0], x[1], 1, 1}};
}

// Each adds its input's gradient into one the graph holds (dx_into).
bool adds_into_x(const std::vector<Shape>&, const OpAttrs&, size_t input) { return input == 0; }

OpCost streaming_cost(const std::vector<Shape>& in, const std::vector<Shape>& out) {
  return {0, shapes_bytes(in) + shapes_bytes(out)};
}

std::vector<cuda::LaunchPlan> pool_launches(PoolKind kind, const std::vector<Shape>& in, DType t, const OpAttrs& attrs,
                                            Pass pass) {
  const auto& a = std::get<PoolAttrs>(attrs);
  PoolGeometry g = pool_geometry(in[0], a.kernel, a.stride, a.pad, "pool2d");
  int64_t planes = in[0][0] * in[0][1], bytes = int64_t(dtype_size(t));
  return {pass == Pass::Forward ? cuda_ops::plan_pool2d_forward(g, planes, bytes)
                                : cuda_ops::plan_pool2d_backward(kind, g, planes, bytes)};
}

std::vector<cuda::LaunchPlan> channel_reduce_launches(ChannelReduce kind, const std::vector<Shape>& in, DType t,
                                                      Pass pass) {
  const Shape& x = in[0];
  int64_t bytes = int64_t(dtype_size(t)), hw = x[2] * x[3];
  return {pass == Pass::Forward ? cuda_ops::plan_channel_reduce_forward(x[0], x[1], hw, bytes)
                                : cuda_ops::plan_channel_reduce_backward(kind, x[0], x[1], hw, bytes)};
}

}  // namespace

// avg_pool2d with zero padding left out of each window's count (count_include_pad=False).
extern const OpDef avg_pool2d_op{
    OpKind::AvgPool2d,
    "avg_pool2d",
    []() -> OpAttrs {
      return PoolAttrs{3, 2, 1};
    },
    [](const std::vector<Shape>& in, const OpAttrs& a) { return pooled_shape(in, a, "avg_pool2d"); },
    [](const Tensors& in, const OpAttrs& attrs) {
      const auto& a = std::get<PoolAttrs>(attrs);
      return Tensors{avg_pool2d(in[0], a.kernel, a.stride, a.pad)};
    },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs& attrs, WantedGrads wanted) {
      const auto& a = std::get<PoolAttrs>(attrs);
      return Tensors{avg_pool2d_backward(d[0], in[0], a.kernel, a.stride, a.pad, wanted.accumulate_into(0))};
    },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      return streaming_cost(in, pooled_shape(in, a, "avg_pool2d"));
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs& a, Pass pass, WantedGrads) {
      return pool_launches(PoolKind::Avg, in, t, a, pass);
    },
    adds_into_x,
};

// max_pool2d without padding; ties go to the first element.
extern const OpDef max_pool2d_op{
    OpKind::MaxPool2d,
    "max_pool2d",
    []() -> OpAttrs {
      return PoolAttrs{2, 2, 0};
    },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      DMDLK_CHECK(std::get<PoolAttrs>(a).pad == 0, ErrorCode::InvalidArg, "max_pool2d: padding must be 0, got ",
                  std::get<PoolAttrs>(a).pad);
      return pooled_shape(in, a, "max_pool2d");
    },
    [](const Tensors& in, const OpAttrs& attrs) {
      const auto& a = std::get<PoolAttrs>(attrs);
      return Tensors{max_pool2d(in[0], a.kernel, a.stride)};
    },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs& attrs, WantedGrads wanted) {
      const auto& a = std::get<PoolAttrs>(attrs);
      return Tensors{max_pool2d_backward(d[0], in[0], a.kernel, a.stride, wanted.accumulate_into(0))};
    },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      return streaming_cost(in, pooled_shape(in, a, "max_pool2d"));
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs& a, Pass pass, WantedGrads) {
      return pool_launches(PoolKind::Max, in, t, a, pass);
    },
    adds_into_x,
};

extern const OpDef global_avg_pool_op{
    OpKind::GlobalAvgPool,
    "global_avg_pool",
    no_attrs,
    [](const std::vector<Shape>& in, const OpAttrs&) { return image_reduced(in[0], 0, "global_avg_pool"); },
    [](const Tensors& in, const OpAttrs&) { return Tensors{global_avg_pool(in[0])}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&, WantedGrads wanted) {
      return Tensors{global_avg_pool_backward(d[0], in[0], wanted.accumulate_into(0))};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) { return streaming_cost(in, {}); },
    [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass pass, WantedGrads) {
      const Shape& x = in[0];
      int64_t planes = x[0] * x[1], size = x[2] * x[3], bytes = int64_t(dtype_size(t));
      return pass == Pass::Forward
                 ? cuda_ops::plan_global_avg_pool_forward(planes, size, bytes)
                 : std::vector<cuda::LaunchPlan>{cuda_ops::plan_global_avg_pool_backward(planes, size, bytes)};
    },
    adds_into_x,
};

// The channel reductions differ only in their kind: one definition for the
// three, constant-initialised as the others are.
namespace {

struct ChannelReduceNames {
  const char* op;
  const char* backward;
};
constexpr ChannelReduceNames channel_reduce_names(ChannelReduce kind) {
  return kind == ChannelReduce::Mean  ? ChannelReduceNames{"channel_mean", "channel_mean_backward"}
         : kind == ChannelReduce::Max ? ChannelReduceNames{"channel_max", "channel_max_backward"}
                                      : ChannelReduceNames{"channel_pool", "channel_pool_backward"};
}

template <ChannelReduce kind>
constexpr OpDef channel_reduce_op(OpKind op_kind) {
  return OpDef{
      op_kind,
      channel_reduce_names(kind).op,
      no_attrs,
      [](const std::vector<Shape>& in, const OpAttrs&) {
        return image_reduced(in[0], reduced_channels(kind), channel_reduce_names(kind).op);
      },
      [](const Tensors& in, const OpAttrs&) {
        return Tensors{channel_reduce(kind, in[0], channel_reduce_names(kind).op)};
      },
      [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&, WantedGrads wanted) {
        return Tensors{
            channel_reduce_backward(kind, d[0], in[0], channel_reduce_names(kind).backward, wanted.accumulate_into(0))};
      },
      [](const std::vector<Shape>& in, const OpAttrs&) { return streaming_cost(in, {}); },
      [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass pass, WantedGrads) {
        return channel_reduce_launches(kind, in, t, pass);
      },
      adds_into_x,
  };
}

}  // namespace

extern const OpDef channel_mean_op = channel_reduce_op<ChannelReduce::Mean>(OpKind::ChannelMean);
// The maximum over channels; ties go to the first channel, NaN counts as the maximum.
extern const OpDef channel_max_op = channel_reduce_op<ChannelReduce::Max>(OpKind::ChannelMax);
// The mean and the maximum over channels, as two channels (CBAM's channel
// pooling, DDLK's selection input): one pass each way for what a channel_mean,
// a channel_max and a concat did in three.
extern const OpDef channel_pool_op = channel_reduce_op<ChannelReduce::MeanMax>(OpKind::ChannelPool);

}  // namespace dmdlk
