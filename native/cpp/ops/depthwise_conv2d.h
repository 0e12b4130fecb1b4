// Depthwise convolution (groups = Cin = Cout): each channel convolved with its
// own kh×kw filter. conv2d sends these here: as im2col + GEMM they would be
// GEMMs of one row per group. Per-element math shared by both backends; the
// input gradient is a gather, the weight gradient a reduction per (channel,
// tap), so neither needs atomics.
#pragma once
#include "core/host_device.h"
#include "ops/im2col.h"

namespace dmdlk {

// y at (oy, ox) of one channel: g describes a single plane (g.channels = 1).
template <typename T>
DMDLK_HD T depthwise_at(const ConvGeometry& g, const T* plane, const T* w, int64_t oy, int64_t ox) {
  T sum = 0;
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    int64_t y = oy * g.stride_h - g.pad_h + i * g.dilation_h;
    if (y < 0 || y >= g.height) continue;
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      int64_t x = ox * g.stride_w - g.pad_w + j * g.dilation_w;
      if (x >= 0 && x < g.width) sum += w[i * g.kernel_w + j] * plane[y * g.width + x];
    }
  }
  return sum;
}

// dx at (y, x) of one channel: the weighted sum of the outputs that read it.
// Coordinates divide by the strides in 32 bits (a GPU has no 64-bit division).
template <typename T>
DMDLK_HD T depthwise_input_grad_at(const ConvGeometry& g, const T* dy_plane, const T* w, int64_t y, int64_t x) {
  const uint32_t stride_h = uint32_t(g.stride_h), stride_w = uint32_t(g.stride_w);
  T sum = 0;
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    int64_t ty = y + g.pad_h - i * g.dilation_h;
    if (ty < 0 || uint32_t(ty) % stride_h != 0 || uint32_t(ty) / stride_h >= g.out_h) continue;
    const int64_t oy = uint32_t(ty) / stride_h;
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      int64_t tx = x + g.pad_w - j * g.dilation_w;
      if (tx < 0 || uint32_t(tx) % stride_w != 0 || uint32_t(tx) / stride_w >= g.out_w) continue;
      sum += w[i * g.kernel_w + j] * dy_plane[oy * g.out_w + uint32_t(tx) / stride_w];
    }
  }
  return sum;
}

// Σ over the outputs of one plane of dy · the input under tap (i, j).
template <typename T>
DMDLK_HD T depthwise_weight_grad_plane(const ConvGeometry& g, const T* plane, const T* dy_plane, int64_t i, int64_t j,
                                       int64_t first, int64_t step) {
  T sum = 0;
  for (int64_t p = first; p < g.out_h * g.out_w; p += step) {
    const int64_t oy = uint32_t(p) / uint32_t(g.out_w), ox = uint32_t(p) % uint32_t(g.out_w);  // within a plane
    int64_t y = oy * g.stride_h - g.pad_h + i * g.dilation_h, x = ox * g.stride_w - g.pad_w + j * g.dilation_w;
    if (y >= 0 && y < g.height && x >= 0 && x < g.width) sum += dy_plane[p] * plane[y * g.width + x];
  }
  return sum;
}

namespace cpu_ops {
// planes = N·C; channels = C (weight w is [C, kh·kw]). dw is written, not accumulated.
template <typename T>
void depthwise_forward(const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w, T* y);
template <typename T>
void depthwise_backward(const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w, const T* dy,
                        T* dx, T* dw);
}  // namespace cpu_ops

}  // namespace dmdlk
