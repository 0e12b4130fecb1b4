// 2-D convolution (PyTorch's Conv2d: cross-correlation, zero padding) in its
// general form: stride, padding, dilation, groups, optional bias, and an
// optional residual added to the result in the same pass (a block's skip
// connection: y = conv(x) + residual).
//   x [N, Cin, H, W], weight [Cout, Cin/groups, kh, kw], bias [Cout], residual [N, Cout, Ho, Wo]
//   -> y [N, Cout, Ho, Wo], Ho = (H + 2·pad − dilation·(kh − 1) − 1) / stride + 1
#pragma once
#include "core/tensor.h"
#include "ops/conv_geometry.h"

namespace dmdlk {

struct Conv2dOptions {
  int64_t stride_h = 1, stride_w = 1;
  int64_t pad_h = 0, pad_w = 0;
  int64_t dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
  bool residual = false;  // the graph's op: a last input added to the result
};

// `residual` given exactly where options.residual says so.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dOptions& options,
              const Tensor& residual = Tensor());

// What a convolution computes, from its operands' shapes: the one place both
// backends, the graph and the launch plans take it from.
struct ConvPlan {
  int64_t batch = 0, in_channels = 0, out_channels = 0, groups = 1;
  ConvGeometry geo;             // one image (geo.channels = in_channels)
  bool direct_columns = false;  // 1×1, stride 1, no padding: x is already its column matrix
  bool depthwise = false;       // groups = Cin = Cout > 1: direct kernels
  Shape out_shape;
};
// Throws ERR_SHAPE / ERR_INVALID_ARG naming `op` for operands that do not fit.
ConvPlan conv_plan(const Shape& x, const Shape& weight, const Conv2dOptions& options, const char* op);

struct Conv2dGrads {
  Tensor dx, dweight, dbias;  // dbias undefined when there is no bias; dx without input_grad
};
// Without `input_grad` (x is the data: the graph's stem) dx is not computed,
// except by the depthwise kernel, which makes both gradients in one pass.
// Where `dx_into` is given (a gradient x already has) and the convolution is
// not depthwise, dx is added into it in place and it is returned as dx.
Conv2dGrads conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias,
                            const Conv2dOptions& options, bool input_grad = true, const Tensor& dx_into = Tensor());

}  // namespace dmdlk
