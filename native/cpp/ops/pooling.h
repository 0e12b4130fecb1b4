// Pooling and reductions, forward and backward:
//   avg_pool2d   k×k / stride, zero padding not counted (count_include_pad=False)
//   max_pool2d   k×k / stride, no padding; ties go to the first element, as PyTorch's CPU
//   global_avg_pool  [N, C, H, W] -> [N, C, 1, 1]
//   channel_mean / channel_max  [N, C, H, W] -> [N, 1, H, W] (max: ties to the first channel)
//   channel_pool  both: [N, C, H, W] -> [N, 2, H, W]
// Backward passes are gathers over the outputs that read each input.
#pragma once
#include "core/host_device.h"
#include "core/tensor.h"

namespace dmdlk {

struct PoolGeometry {
  int64_t height = 0, width = 0, kernel = 1, stride = 1, pad = 0, out_h = 0, out_w = 0;
};

// The window of output (oy, ox), clipped to the image: rows [y0, y1), columns [x0, x1).
DMDLK_HD void pool_window(const PoolGeometry& g, int64_t oy, int64_t ox, int64_t* y0, int64_t* y1, int64_t* x0,
                          int64_t* x1) {
  int64_t ys = oy * g.stride - g.pad, xs = ox * g.stride - g.pad;
  *y0 = ys < 0 ? 0 : ys, *x0 = xs < 0 ? 0 : xs;
  *y1 = ys + g.kernel > g.height ? g.height : ys + g.kernel;
  *x1 = xs + g.kernel > g.width ? g.width : xs + g.kernel;
}

// The outputs whose windows contain input row y: [lo, hi).
DMDLK_HD void pool_outputs_of(int64_t y, int64_t pad, int64_t kernel, int64_t stride, int64_t out, int64_t* lo,
                              int64_t* hi) {
  int64_t first = y + pad - kernel + 1;  // smallest window start that still covers y
  // 32-bit divisions (a coordinate and a stride; a GPU has no 64-bit division).
  *lo = first <= 0 ? 0 : uint32_t(first + stride - 1) / uint32_t(stride);
  int64_t last = uint32_t(y + pad) / uint32_t(stride);
  *hi = last + 1 < out ? last + 1 : out;
}

template <typename T>
DMDLK_HD T avg_pool_at(const PoolGeometry& g, const T* plane, int64_t oy, int64_t ox) {
  int64_t y0, y1, x0, x1;
  pool_window(g, oy, ox, &y0, &y1, &x0, &x1);
  T sum = 0;
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) sum += plane[y * g.width + x];
  return sum / T((y1 - y0) * (x1 - x0));
}

template <typename T>
DMDLK_HD T avg_pool_grad_at(const PoolGeometry& g, const T* dy_plane, int64_t y, int64_t x) {
  int64_t oy0, oy1, ox0, ox1;
  pool_outputs_of(y, g.pad, g.kernel, g.stride, g.out_h, &oy0, &oy1);
  pool_outputs_of(x, g.pad, g.kernel, g.stride, g.out_w, &ox0, &ox1);
  T sum = 0;
  for (int64_t oy = oy0; oy < oy1; ++oy)
    for (int64_t ox = ox0; ox < ox1; ++ox) {
      int64_t y0, y1, x0, x1;
      pool_window(g, oy, ox, &y0, &y1, &x0, &x1);
      sum += dy_plane[oy * g.out_w + ox] / T((y1 - y0) * (x1 - x0));
    }
  return sum;
}

// Row-major index of the window's first maximum (NaN counts as the maximum).
template <typename T>
DMDLK_HD int64_t max_pool_argmax(const PoolGeometry& g, const T* plane, int64_t oy, int64_t ox) {
  int64_t y0, y1, x0, x1;
  pool_window(g, oy, ox, &y0, &y1, &x0, &x1);
  int64_t best = y0 * g.width + x0;
  for (int64_t y = y0; y < y1; ++y)
    for (int64_t x = x0; x < x1; ++x) {
      T v = plane[y * g.width + x];
      if (v > plane[best] || (v != v && plane[best] == plane[best])) best = y * g.width + x;
    }
  return best;
}

template <typename T>
DMDLK_HD T max_pool_grad_at(const PoolGeometry& g, const T* plane, const T* dy_plane, int64_t y, int64_t x) {
  int64_t oy0, oy1, ox0, ox1;
  pool_outputs_of(y, g.pad, g.kernel, g.stride, g.out_h, &oy0, &oy1);
  pool_outputs_of(x, g.pad, g.kernel, g.stride, g.out_w, &ox0, &ox1);
  T sum = 0;
  for (int64_t oy = oy0; oy < oy1; ++oy)
    for (int64_t ox = ox0; ox < ox1; ++ox)
      if (max_pool_argmax(g, plane, oy, ox) == y * g.width + x) sum += dy_plane[oy * g.out_w + ox];
  return sum;
}

// Each backward, where `dx_into` is given (a gradient x already has), adds
// dx into it in place and returns it (graph.cpp: a value read twice).
Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t pad);
Tensor avg_pool2d_backward(const Tensor& dy, const Tensor& x, int64_t kernel, int64_t stride, int64_t pad,
                           const Tensor& dx_into = Tensor());
Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride);
Tensor max_pool2d_backward(const Tensor& dy, const Tensor& x, int64_t kernel, int64_t stride,
                           const Tensor& dx_into = Tensor());

Tensor global_avg_pool(const Tensor& x);
Tensor global_avg_pool_backward(const Tensor& dy, const Tensor& x, const Tensor& dx_into = Tensor());
Tensor channel_mean(const Tensor& x);
Tensor channel_mean_backward(const Tensor& dy, const Tensor& x, const Tensor& dx_into = Tensor());
Tensor channel_max(const Tensor& x);
Tensor channel_max_backward(const Tensor& dy, const Tensor& x, const Tensor& dx_into = Tensor());
// Both in one pass (CBAM's channel pooling): [N, 2, H, W], the mean over
// channels in channel 0, the maximum in channel 1.
Tensor channel_pool(const Tensor& x);
Tensor channel_pool_backward(const Tensor& dy, const Tensor& x, const Tensor& dx_into = Tensor());

enum class PoolKind { Avg, Max };
// Channel max picks, at each pixel, the first channel holding the maximum,
// NaN counting as the maximum (both backends; test_core checks the rule).
enum class ChannelReduce { Mean, Max, MeanMax };
// The channels of a reduction's result: MeanMax's mean, then its maximum.
DMDLK_HD int64_t reduced_channels(ChannelReduce kind) { return kind == ChannelReduce::MeanMax ? 2 : 1; }

}  // namespace dmdlk
