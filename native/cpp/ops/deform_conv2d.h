// Deformable convolution with torchvision's semantics (torchvision.ops.deform_conv2d):
//   x [N, Cin, H, W], offset [N, 2·og·kh·kw, Ho, Wo], weight [Cout, Cin/groups, kh, kw],
//   bias [Cout] (optional), mask [N, og·kh·kw, Ho, Wo] (optional, modulated "v2")
//   -> y [N, Cout, Ho, Wo].
// og offset groups each share one set of offsets among Cin/og channels. For
// tap t = i·kw + j, offset channel 2t is dy and 2t + 1 is dx (within the
// group's block); the sample point is
//   Y = oy·stride − pad + i·dilation + dy,  X = ox·stride − pad + j·dilation + dx,
// read by bilinear interpolation where corners outside the image read 0.
//
// Written as deformable im2col + the grouped GEMMs of conv2d. The backward
// gives dx (a scatter: per channel on the CPU, atomics on CUDA), dweight
// (GEMM), and doffset / dmask as a reduction over each offset group's
// channels, one thread per (group, tap, pixel): no atomics. DDLK's form
// (depthwise, one offset group, no mask) runs direct kernels on both backends
// instead (deform_depthwise_cpu.h, native/cuda/deform_depthwise.cu).
#pragma once
#include <math.h>

#include "core/host_device.h"
#include "core/tensor.h"
#include "ops/conv_geometry.h"

namespace dmdlk {

struct DeformConv2dOptions {
  int64_t stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dilation_h = 1, dilation_w = 1;
  int64_t groups = 1;
};

Tensor deform_conv2d(const Tensor& x, const Tensor& offset, const Tensor& weight, const Tensor& bias,
                     const Tensor& mask, const DeformConv2dOptions& options);

struct DeformConv2dGrads {
  Tensor dx, doffset, dweight, dbias, dmask;  // dbias / dmask undefined without bias / mask
};
// Where `dx_into` is given (a gradient x already has), dx is added into it in
// place and it is returned as dx.
DeformConv2dGrads deform_conv2d_backward(const Tensor& dy, const Tensor& x, const Tensor& offset, const Tensor& weight,
                                         const Tensor& mask, bool has_bias, const DeformConv2dOptions& options,
                                         const Tensor& dx_into = Tensor());

// One image's geometry: a convolution's, and the offset groups.
struct DeformGeometry : ConvGeometry {
  int64_t offset_groups = 1;
  DMDLK_HD int64_t taps() const { return kernel_h * kernel_w; }
  DMDLK_HD int64_t pixels() const { return out_h * out_w; }
  // Index math in 32 bits (channels, taps and pixels of one image; a GPU has no 64-bit division).
  DMDLK_HD int64_t group_of(int64_t c) const { return uint32_t(c) / (uint32_t(channels) / uint32_t(offset_groups)); }
};

// What a deformable convolution computes, from its operands' shapes: the one
// place both backends, the graph and the launch plans take it from.
struct DeformPlan {
  int64_t batch = 0, out_channels = 0, groups = 1;
  DeformGeometry geo;
  bool has_mask = false;
  // DDLK's form (depthwise, one offset group, no mask): direct kernels.
  DMDLK_HD bool ddlk_form() const {
    return !has_mask && geo.offset_groups == 1 && groups == geo.channels && out_channels == geo.channels;
  }
};
// x [N, Cin, H, W], weight [Cout, Cin/groups, kh, kw], offset [N,
// 2·offset_groups·kh·kw, Ho, Wo], mask [N, offset_groups·kh·kw, Ho, Wo] where
// given. Throws ERR_SHAPE / ERR_INVALID_ARG naming `op`.
DeformPlan deform_plan(const Shape& x, const Shape& offset, const Shape& weight, const Shape* mask,
                       const DeformConv2dOptions& options, const char* op);

DMDLK_HD float floor_of(float v) { return floorf(v); }
DMDLK_HD double floor_of(double v) { return floor(v); }

// The sample point of tap t at output pixel p for offset group og.
template <typename T>
DMDLK_HD void deform_point(const DeformGeometry& g, const T* offset, int64_t og, int64_t t, int64_t p, T* y, T* x) {
  const uint32_t kw = uint32_t(g.kernel_w), ow = uint32_t(g.out_w);
  const int64_t i = uint32_t(t) / kw, j = uint32_t(t) % kw, oy = uint32_t(p) / ow, ox = uint32_t(p) % ow;
  const T* off = offset + (og * 2 * g.taps() + 2 * t) * g.pixels() + p;
  *y = T(oy * g.stride_h - g.pad_h + i * g.dilation_h) + off[0];
  *x = T(ox * g.stride_w - g.pad_w + j * g.dilation_w) + off[g.pixels()];
}

template <typename T>
DMDLK_HD bool deform_outside(int64_t height, int64_t width, T y, T x) {
  return y <= T(-1) || y >= T(height) || x <= T(-1) || x >= T(width);
}

// Bilinear sample of a plane at (y, x); corners outside read 0.
template <typename T>
DMDLK_HD T deform_bilinear(const T* plane, int64_t height, int64_t width, T y, T x) {
  if (deform_outside(height, width, y, x)) return T(0);
  int64_t y0 = int64_t(floor_of(y)), x0 = int64_t(floor_of(x)), y1 = y0 + 1, x1 = x0 + 1;
  T ly = y - T(y0), lx = x - T(x0), hy = T(1) - ly, hx = T(1) - lx;
  T v00 = (y0 >= 0 && x0 >= 0) ? plane[y0 * width + x0] : T(0);
  T v01 = (y0 >= 0 && x1 < width) ? plane[y0 * width + x1] : T(0);
  T v10 = (y1 < height && x0 >= 0) ? plane[y1 * width + x0] : T(0);
  T v11 = (y1 < height && x1 < width) ? plane[y1 * width + x1] : T(0);
  return hy * hx * v00 + hy * lx * v01 + ly * hx * v10 + ly * lx * v11;
}

// ∂ bilinear / ∂y and ∂ bilinear / ∂x at (y, x). As torchvision, each corner
// is checked on its own, with no early exit outside: on the lines y = −1 or
// x = −1 this is the one-sided derivative from inside the image.
template <typename T>
DMDLK_HD void deform_bilinear_grad(const T* plane, int64_t height, int64_t width, T y, T x, T* dy, T* dx) {
  int64_t y0 = int64_t(floor_of(y)), x0 = int64_t(floor_of(x)), y1 = y0 + 1, x1 = x0 + 1;
  bool in_y0 = 0 <= y0 && y0 < height, in_y1 = 0 <= y1 && y1 < height;
  bool in_x0 = 0 <= x0 && x0 < width, in_x1 = 0 <= x1 && x1 < width;
  T ly = y - T(y0), lx = x - T(x0), hy = T(1) - ly, hx = T(1) - lx;
  T v00 = (in_y0 && in_x0) ? plane[y0 * width + x0] : T(0);
  T v01 = (in_y0 && in_x1) ? plane[y0 * width + x1] : T(0);
  T v10 = (in_y1 && in_x0) ? plane[y1 * width + x0] : T(0);
  T v11 = (in_y1 && in_x1) ? plane[y1 * width + x1] : T(0);
  *dy = hx * (v10 - v00) + lx * (v11 - v01);
  *dx = hy * (v01 - v00) + ly * (v11 - v10);
}

// Calls add(index, weight) for each in-image corner that (y, x) reads.
template <typename T, typename Add>
DMDLK_HD void deform_scatter(int64_t height, int64_t width, T y, T x, Add add) {
  if (deform_outside(height, width, y, x)) return;
  int64_t y0 = int64_t(floor_of(y)), x0 = int64_t(floor_of(x)), y1 = y0 + 1, x1 = x0 + 1;
  T ly = y - T(y0), lx = x - T(x0), hy = T(1) - ly, hx = T(1) - lx;
  if (y0 >= 0 && x0 >= 0) add(y0 * width + x0, hy * hx);
  if (y0 >= 0 && x1 < width) add(y0 * width + x1, hy * lx);
  if (y1 < height && x0 >= 0) add(y1 * width + x0, ly * hx);
  if (y1 < height && x1 < width) add(y1 * width + x1, ly * lx);
}

// Column (c·taps + t, p) of one image: the modulated sample.
template <typename T>
DMDLK_HD T deform_im2col_at(const DeformGeometry& g, const T* x, const T* offset, const T* mask, int64_t row,
                            int64_t p) {
  const uint32_t taps = uint32_t(g.taps());
  const int64_t c = uint32_t(row) / taps, t = uint32_t(row) % taps, og = g.group_of(c);
  T y, xx;
  deform_point(g, offset, og, t, p, &y, &xx);
  T v = deform_bilinear(x + c * g.height * g.width, g.height, g.width, y, xx);
  return mask ? v * mask[(og * g.taps() + t) * g.pixels() + p] : v;
}

// doffset (dy, dx) and dmask of tap t at pixel p of offset group og: sums over the group's channels.
template <typename T>
DMDLK_HD void deform_offset_grad_at(const DeformGeometry& g, const T* x, const T* offset, const T* mask, const T* dcol,
                                    int64_t og, int64_t t, int64_t p, T* doff_y, T* doff_x, T* dmask) {
  T y, xx;
  deform_point(g, offset, og, t, p, &y, &xx);
  T m = mask ? mask[(og * g.taps() + t) * g.pixels() + p] : T(1);
  const int64_t per_group = uint32_t(g.channels) / uint32_t(g.offset_groups);
  T sy = 0, sx = 0, sm = 0;
  for (int64_t c = og * per_group; c < (og + 1) * per_group; ++c) {
    const T* plane = x + c * g.height * g.width;
    T d = dcol[(c * g.taps() + t) * g.pixels() + p], gy, gx;
    deform_bilinear_grad(plane, g.height, g.width, y, xx, &gy, &gx);
    sy += d * m * gy;
    sx += d * m * gx;
    if (mask) sm += d * deform_bilinear(plane, g.height, g.width, y, xx);
  }
  *doff_y = sy, *doff_x = sx, *dmask = sm;
}

}  // namespace dmdlk
