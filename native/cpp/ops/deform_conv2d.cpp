#include "ops/deform_conv2d.h"

#include "core/thread_pool.h"
#include "gpu/deform_conv2d.h"
#include "gpu/layout.h"
#include "ops/backend.h"
#include "ops/conv_gemm.h"
#include "ops/deform_depthwise_cpu.h"
#include "ops/layout.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

// The deformable convolution of x [N, Cin, H, W] by weight [Cout, Cin/groups,
// kh, kw] at offset [N, 2·offset_groups·kh·kw, Ho, Wo] (and mask [N,
// offset_groups·kh·kw, Ho, Wo] where given), from their shapes.
DeformPlan deform_plan(const Shape& x, const Shape& offset, const Shape& weight, const Shape* mask,
                       const DeformConv2dOptions& o, const char* op) {
  DMDLK_CHECK(x.size() == 4, ErrorCode::Shape, op, ": x must have rank 4 ([N, Cin, H, W]), got shape ", shape_str(x));
  DMDLK_CHECK(weight.size() == 4, ErrorCode::Shape, op,
              ": weight must have rank 4 ([Cout, Cin/groups, kh, kw]), got shape ", shape_str(weight));
  DMDLK_CHECK(offset.size() == 4, ErrorCode::Shape, op,
              ": offset must have rank 4 ([N, 2·offset_groups·kh·kw, Ho, Wo]), got shape ", shape_str(offset));
  DMDLK_CHECK(o.groups >= 1, ErrorCode::InvalidArg, op, ": groups must be >= 1, got ", o.groups);
  DeformPlan p;
  p.batch = x[0];
  p.out_channels = weight[0];
  p.groups = o.groups;
  DeformGeometry& g = p.geo;
  static_cast<ConvGeometry&>(g) = conv_geometry(x, weight[2], weight[3], o, op);
  DMDLK_CHECK(g.channels % o.groups == 0 && p.out_channels % o.groups == 0, ErrorCode::Shape, op,
              ": groups = ", o.groups, " must divide the input channels (", g.channels, ") and the output channels (",
              p.out_channels, ")");
  DMDLK_CHECK(weight[1] == g.channels / o.groups, ErrorCode::Shape, op, ": weight must have shape [", p.out_channels,
              ", ", g.channels / o.groups, ", kh, kw] for x ", shape_str(x), ", got ", shape_str(weight));
  // As torchvision: the number of offset groups follows from the offset's channels.
  int64_t per_group = 2 * g.taps();
  DMDLK_CHECK(offset[1] % per_group == 0 && offset[1] > 0, ErrorCode::Shape, op, ": offset has ", offset[1],
              " channels, not a positive multiple of 2·kh·kw = ", per_group);
  g.offset_groups = offset[1] / per_group;
  DMDLK_CHECK(g.channels % g.offset_groups == 0, ErrorCode::Shape, op, ": ", g.offset_groups,
              " offset groups do not divide the ", g.channels, " input channels");
  Shape want_offset{p.batch, offset[1], g.out_h, g.out_w};
  DMDLK_CHECK(offset == want_offset, ErrorCode::Shape, op, ": offset must have shape ", shape_str(want_offset),
              ", got ", shape_str(offset));
  if (mask) {
    Shape want_mask{p.batch, g.offset_groups * g.taps(), g.out_h, g.out_w};
    DMDLK_CHECK(*mask == want_mask, ErrorCode::Shape, op, ": mask must have shape ", shape_str(want_mask), ", got ",
                shape_str(*mask));
    p.has_mask = true;
  }
  // DDLK's kernels index a plane with int32 (DeformSample), corners up to 3 pixels out.
  DMDLK_CHECK(!p.ddlk_form() || (g.height + 6) * (g.width + 6) < (int64_t(1) << 31), ErrorCode::InvalidArg, op,
              ": images of ", g.height, "×", g.width, " are too large (at most 2³¹ pixels)");
  return p;
}

namespace {

DeformPlan plan_deform(const Tensor& x, const Tensor& offset, const Tensor& weight, const Tensor* bias,
                       const Tensor& mask, const DeformConv2dOptions& o, const char* op) {
  check_floating(x, op, "x");
  check_compatible(weight, x, op, "weight", "x");
  check_compatible(offset, x, op, "offset", "x");
  if (mask.defined()) check_compatible(mask, x, op, "mask", "x");
  DeformPlan p =
      deform_plan(x.shape(), offset.shape(), weight.shape(), mask.defined() ? &mask.shape() : nullptr, o, op);
  if (bias && bias->defined()) {
    check_compatible(*bias, x, op, "bias", "x");
    check_shape(*bias, {p.out_channels}, op, "bias");
  }
  return p;
}

}  // namespace

namespace cpu_ops {

template <typename T>
void deform_im2col(const DeformGeometry& g, const T* x, const T* offset, const T* mask, T* col) {
  int64_t cols = g.pixels();
  parallel_for(0, g.col_rows(), std::max<int64_t>(1, 4096 / std::max<int64_t>(1, cols)), [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row)
      for (int64_t p = 0; p < cols; ++p) col[row * cols + p] = deform_im2col_at(g, x, offset, mask, row, p);
  });
}

// dx: one channel per task, so each task scatters only into its own plane.
// doffset / dmask: one (offset group, tap) row of pixels per task.
template <typename T>
void deform_col2im(const DeformGeometry& g, const T* x, const T* offset, const T* mask, const T* dcol, T* dx,
                   T* doffset, T* dmask) {
  parallel_for(0, g.channels, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      T* plane = dx + c * g.height * g.width;
      int64_t og = g.group_of(c);
      for (int64_t t = 0; t < g.taps(); ++t)
        for (int64_t p = 0; p < g.pixels(); ++p) {
          T d = dcol[(c * g.taps() + t) * g.pixels() + p];
          if (mask) d *= mask[(og * g.taps() + t) * g.pixels() + p];
          T y, xx;
          deform_point(g, offset, og, t, p, &y, &xx);
          deform_scatter(g.height, g.width, y, xx, [&](int64_t i, T w) { plane[i] += w * d; });
        }
    }
  });
  parallel_for(0, g.offset_groups * g.taps(), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t og = r / g.taps(), t = r % g.taps();
      for (int64_t p = 0; p < g.pixels(); ++p) {
        T dy, dxo, dm;
        deform_offset_grad_at(g, x, offset, mask, dcol, og, t, p, &dy, &dxo, &dm);
        doffset[(og * 2 * g.taps() + 2 * t) * g.pixels() + p] = dy;
        doffset[(og * 2 * g.taps() + 2 * t + 1) * g.pixels() + p] = dxo;
        if (dmask) dmask[r * g.pixels() + p] = dm;
      }
    }
  });
}

// Per-image pointers into a batched buffer (null stays null).
template <typename T>
T* image(T* t, int64_t n, int64_t per_image) {
  return t ? t + n * per_image : nullptr;
}

template <typename T>
Tensor columns(const DeformGeometry& g) {
  return Tensor::empty({g.col_rows(), g.pixels()}, dtype_of<T>::value, Device::cpu());
}

template <typename T>
void deform_conv2d_forward(const DeformPlan& p, const T* x, const T* offset, const T* w, const T* mask, const T* bias,
                           T* y) {
  const DeformGeometry& g = p.geo;
  if (p.ddlk_form()) {
    deform_depthwise_forward(g, p.batch, x, offset, w, y);
  } else {
    Tensor col = columns<T>(g);
    int64_t x_image = g.channels * g.height * g.width, off_image = 2 * g.offset_groups * g.taps() * g.pixels();
    int64_t mask_image = g.offset_groups * g.taps() * g.pixels(), y_image = p.out_channels * g.pixels();
    ConvGemmShape s{p.groups, p.out_channels / p.groups, g.col_rows() / p.groups, g.pixels()};
    for (int64_t n = 0; n < p.batch; ++n) {
      deform_im2col(g, x + n * x_image, offset + n * off_image, image(mask, n, mask_image), col.data<T>());
      gemm<T>(conv_forward_gemm(s), 1, w, col.data<T>(), 0, y + n * y_image);
    }
  }
  if (bias) add_bias(ChannelLayout{p.batch, p.out_channels, g.pixels()}, bias, y);
}

// dx, doffset, dw (and dmask, db) arrive zeroed, as CUDA's.
template <typename T>
void deform_conv2d_backward(const DeformPlan& p, const T* dy, const T* x, const T* offset, const T* w, const T* mask,
                            T* dx, T* doffset, T* dw, T* dmask, T* db) {
  const DeformGeometry& g = p.geo;
  if (p.ddlk_form()) {
    deform_depthwise_backward(g, p.batch, x, offset, w, dy, dx, doffset, dw);
  } else {
    Tensor col = columns<T>(g), dcol = columns<T>(g);
    ConvGemmShape s{p.groups, p.out_channels / p.groups, g.col_rows() / p.groups, g.pixels()};
    int64_t x_image = g.channels * g.height * g.width, off_image = 2 * g.offset_groups * g.taps() * g.pixels();
    int64_t mask_image = g.offset_groups * g.taps() * g.pixels(), y_image = p.out_channels * g.pixels();
    for (int64_t n = 0; n < p.batch; ++n) {
      const T *xn = x + n * x_image, *on = offset + n * off_image, *mn = image(mask, n, mask_image),
              *dyn = dy + n * y_image;
      deform_im2col(g, xn, on, mn, col.data<T>());
      gemm<T>(conv_weight_grad_gemm(s), 1, dyn, col.data<T>(), n > 0 ? 1 : 0, dw);
      gemm<T>(conv_column_grad_gemm(s), 1, w, dyn, 0, dcol.data<T>());
      deform_col2im(g, xn, on, mn, static_cast<const T*>(dcol.data<T>()), dx + n * x_image, doffset + n * off_image,
                    image(dmask, n, mask_image));
    }
  }
  if (db) bias_grad(ChannelLayout{p.batch, p.out_channels, g.pixels()}, dy, db);
}

}  // namespace cpu_ops

Tensor deform_conv2d(const Tensor& x, const Tensor& offset, const Tensor& weight, const Tensor& bias,
                     const Tensor& mask, const DeformConv2dOptions& options) {
  DeformPlan p = plan_deform(x, offset, weight, &bias, mask, options, "deform_conv2d");
  const DeformGeometry& g = p.geo;
  Tensor y = Tensor::empty({p.batch, p.out_channels, g.out_h, g.out_w}, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), deform_conv2d_forward, p, x.data<T>(), offset.data<T>(), weight.data<T>(),
                    mask.defined() ? mask.data<T>() : nullptr, bias.defined() ? bias.data<T>() : nullptr, y.data<T>());
  });
  return y;
}

DeformConv2dGrads deform_conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& offset, const Tensor& weight,
                                         const Tensor& mask, bool has_bias, const DeformConv2dOptions& options,
                                         const Tensor& dx_into) {
  const char* op = "deform_conv2d_backward";
  DeformPlan p = plan_deform(x, offset, weight, nullptr, mask, options, op);
  const DeformGeometry& g = p.geo;
  check_compatible(dy, x, op, "dy", "x");
  check_shape(dy, {p.batch, p.out_channels, g.out_h, g.out_w}, op, "dy");
  // Zeroed, all in one go: both backends accumulate into them (in the order
  // of the op's inputs, as its plan lists them); dx into dx_into where given.
  // The CPU's DDLK kernel writes dx (deform_depthwise_cpu.h): its dx is added
  // into dx_into afterwards.
  const bool add_after = dx_into.defined() && p.ddlk_form() && x.device().is_cpu();
  const bool accumulate = dx_into.defined() && !add_after;
  if (dx_into.defined()) check_accumulator(dx_into, x, op);
  std::vector<Shape> shapes{offset.shape(), weight.shape()};
  if (!accumulate) shapes.insert(shapes.begin(), x.shape());
  if (p.has_mask) shapes.push_back(mask.shape());
  if (has_bias) shapes.push_back({p.out_channels});
  std::vector<Tensor> zeros = zeros_all(shapes, x.dtype(), x.device());
  size_t next = 0;
  DeformConv2dGrads grads;
  grads.dx = accumulate ? dx_into : zeros[next++];
  grads.doffset = zeros[next++], grads.dweight = zeros[next++];
  if (p.has_mask) grads.dmask = zeros[next++];
  if (has_bias) grads.dbias = zeros[next++];
  if (dy.numel() == 0) {
    if (add_after) grads.dx = dx_into;  // plus nothing
    return grads;
  }
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), deform_conv2d_backward, p, dy.data<T>(), x.data<T>(), offset.data<T>(),
                    weight.data<T>(), p.has_mask ? mask.data<T>() : nullptr, grads.dx.data<T>(),
                    grads.doffset.data<T>(), grads.dweight.data<T>(), p.has_mask ? grads.dmask.data<T>() : nullptr,
                    has_bias ? grads.dbias.data<T>() : nullptr);
    if (add_after) {
      const T* from = grads.dx.data<T>();
      T* into = dx_into.data<T>();
      parallel_for(0, dx_into.numel(), 16384, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) into[i] += from[i];
      });
      grads.dx = dx_into;
    }
  });
  return grads;
}

// ---- the graph's deform_conv2d: inputs x, offset, weight, [mask], [bias] ----------
namespace {

struct DeformInputs {
  Tensor x, offset, weight, mask, bias;
};

DeformInputs deform_inputs(const Tensors& in, const DeformConv2dAttrs& a) {
  size_t next = 3;
  DeformInputs d{in[0], in[1], in[2], Tensor(), Tensor()};
  if (a.mask) d.mask = in[next++];
  if (a.bias) d.bias = in[next++];
  return d;
}

DeformPlan deform_plan_of(const std::vector<Shape>& in, const DeformConv2dAttrs& a) {
  return deform_plan(in[0], in[1], in[2], a.mask ? &in[3] : nullptr, a.options, "deform_conv2d");
}

}  // namespace

extern const OpDef deform_conv2d_op{
    OpKind::DeformConv2d,
    "deform_conv2d",
    []() -> OpAttrs { return DeformConv2dAttrs{}; },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      DeformPlan p = deform_plan_of(in, std::get<DeformConv2dAttrs>(a));
      return std::vector<Shape>{{p.batch, p.out_channels, p.geo.out_h, p.geo.out_w}};
    },
    [](const Tensors& in, const OpAttrs& attrs) {
      const auto& a = std::get<DeformConv2dAttrs>(attrs);
      DeformInputs d = deform_inputs(in, a);
      return Tensors{deform_conv2d(d.x, d.offset, d.weight, d.bias, d.mask, a.options)};
    },
    [](const Tensors& in, const Tensors&, const Tensors& dout, const OpAttrs& attrs, WantedGrads wanted) {
      const auto& a = std::get<DeformConv2dAttrs>(attrs);
      DeformInputs d = deform_inputs(in, a);
      DeformConv2dGrads g = deform_conv2d_backward(dout[0], d.x, d.offset, d.weight, d.mask, a.bias, a.options,
                                                   wanted.accumulate_into(0));
      Tensors grads{g.dx, g.doffset, g.dweight};
      if (a.mask) grads.push_back(g.dmask);
      if (a.bias) grads.push_back(g.dbias);
      return grads;
    },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      DeformPlan p = deform_plan_of(in, std::get<DeformConv2dAttrs>(a));
      double out = double(p.batch) * p.out_channels * p.geo.pixels();
      return OpCost{out * in[2][1] * p.geo.taps(), shapes_bytes(in) + 4.0 * out};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs& attrs, Pass pass, WantedGrads) {
      const auto& a = std::get<DeformConv2dAttrs>(attrs);
      DeformPlan p = deform_plan_of(in, a);
      int64_t bytes = int64_t(dtype_size(t));
      if (pass == Pass::Forward) return cuda_ops::plan_deform_conv2d_forward(p, bytes, a.bias);
      std::vector<int64_t> gradients;  // every input's gradient zeroed first, in one list (zeros_all)
      for (const Shape& s : in) gradients.push_back(int64_t(shapes_bytes({s}, t)));
      std::vector<cuda::LaunchPlan> plans = cuda_ops::plan_zero_bytes_all(gradients);
      for (const cuda::LaunchPlan& c : cuda_ops::plan_deform_conv2d_backward(p, bytes, a.bias)) plans.push_back(c);
      return plans;
    },
    [](const std::vector<Shape>&, const OpAttrs&, size_t input) { return input == 0; },  // dx_into
};

}  // namespace dmdlk
