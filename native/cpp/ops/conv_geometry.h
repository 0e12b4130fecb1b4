// The geometry of a window sliding over an image, shared by every op that
// has one: conv2d, deform_conv2d and the poolings. The output size is
// PyTorch's (Conv2d, MaxPool2d, AvgPool2d with ceil_mode off), written once.
#pragma once
#include <cstdint>

#include "core/error.h"
#include "core/host_device.h"
#include "core/tensor.h"

namespace dmdlk {

// How many positions a window of `kernel` taps `dilation` apart takes along
// an axis of `size`, padded by `pad` on both ends, in steps of `stride`.
DMDLK_HD int64_t conv_output_size(int64_t size, int64_t kernel, int64_t stride, int64_t pad, int64_t dilation) {
  return (size + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
}

struct ConvGeometry {
  int64_t channels = 0, height = 0, width = 0;  // one image of the input
  int64_t kernel_h = 1, kernel_w = 1;
  int64_t out_h = 0, out_w = 0;
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;

  DMDLK_HD int64_t col_rows() const { return channels * kernel_h * kernel_w; }
  DMDLK_HD int64_t col_cols() const { return out_h * out_w; }
};

// The geometry of a kernel_h × kernel_w window over x [N, C, H, W] with the
// stride, padding and dilation of `o` (Conv2dOptions or DeformConv2dOptions).
// Throws ERR_INVALID_ARG for steps out of range, ERR_SHAPE for a window larger
// than the padded input.
template <typename Options>
ConvGeometry conv_geometry(const Shape& x, int64_t kernel_h, int64_t kernel_w, const Options& o, const char* op) {
  DMDLK_CHECK(o.stride_h >= 1 && o.stride_w >= 1, ErrorCode::InvalidArg, op, ": stride must be >= 1, got [", o.stride_h,
              ", ", o.stride_w, "]");
  DMDLK_CHECK(o.dilation_h >= 1 && o.dilation_w >= 1, ErrorCode::InvalidArg, op, ": dilation must be >= 1, got [",
              o.dilation_h, ", ", o.dilation_w, "]");
  DMDLK_CHECK(o.pad_h >= 0 && o.pad_w >= 0, ErrorCode::InvalidArg, op, ": padding must be >= 0, got [", o.pad_h, ", ",
              o.pad_w, "]");
  ConvGeometry g;
  g.channels = x[1], g.height = x[2], g.width = x[3];
  g.kernel_h = kernel_h, g.kernel_w = kernel_w;
  g.stride_h = o.stride_h, g.stride_w = o.stride_w, g.pad_h = o.pad_h, g.pad_w = o.pad_w;
  g.dilation_h = o.dilation_h, g.dilation_w = o.dilation_w;
  int64_t span_h = o.dilation_h * (kernel_h - 1) + 1, span_w = o.dilation_w * (kernel_w - 1) + 1;
  DMDLK_CHECK(g.height + 2 * o.pad_h >= span_h && g.width + 2 * o.pad_w >= span_w, ErrorCode::Shape, op,
              ": the kernel (", span_h, "×", span_w, " with dilation) is larger than the padded input (",
              g.height + 2 * o.pad_h, "×", g.width + 2 * o.pad_w, ")");
  g.out_h = conv_output_size(g.height, kernel_h, o.stride_h, o.pad_h, o.dilation_h);
  g.out_w = conv_output_size(g.width, kernel_w, o.stride_w, o.pad_w, o.dilation_w);
  // The kernels divide a plane's pixels and an image's (channel, tap) rows in 32 bits.
  constexpr int64_t kMax = int64_t(1) << 31;
  DMDLK_CHECK(g.height * g.width < kMax && g.out_h * g.out_w < kMax && g.channels * kernel_h * kernel_w < kMax,
              ErrorCode::InvalidArg, op, ": planes of ", g.height, "×", g.width, " and ", g.channels, " channels of ",
              kernel_h, "×", kernel_w, " taps are more than the kernels index (2^31 pixels, 2^31 channel taps)");
  return g;
}

// The attributes of a convolution's options (conv2d's and deform_conv2d's,
// whose fields are the same), as ops/attr_schema.h's visitors see them.
template <class Options, class V>
void visit_convolution_attrs(Options& o, V& v) {
  constexpr int64_t kMax = int64_t(1) << 20;
  v.pair("stride", o.stride_h, o.stride_w, 1, kMax);
  v.pair("padding", o.pad_h, o.pad_w, 0, kMax);
  v.pair("dilation", o.dilation_h, o.dilation_w, 1, kMax);
  v.integer("groups", o.groups, 1, kMax);
}

}  // namespace dmdlk
