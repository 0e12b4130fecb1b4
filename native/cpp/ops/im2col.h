// The unfolding of convolution windows into columns (im2col) and its adjoint
// (col2im). The per-element forms below are CUDA's (one thread per element;
// col2im as a gather, so no atomics); the CPU runs row-wise loops over the
// same layout (conv2d.cpp), which test_core checks against these.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "ops/conv_geometry.h"

namespace dmdlk {

// col[row, col] with row = (c·kh + i)·kw + j and col = oy·out_w + ox.
template <typename T>
DMDLK_HD T im2col_at(const ConvGeometry& g, const T* x, int64_t row, int64_t col) {
  int64_t j = row % g.kernel_w, i = (row / g.kernel_w) % g.kernel_h, c = row / (g.kernel_w * g.kernel_h);
  int64_t ox = col % g.out_w, oy = col / g.out_w;
  int64_t y = oy * g.stride_h - g.pad_h + i * g.dilation_h;
  int64_t xx = ox * g.stride_w - g.pad_w + j * g.dilation_w;
  if (y < 0 || y >= g.height || xx < 0 || xx >= g.width) return T(0);
  return x[(c * g.height + y) * g.width + xx];
}

// dx[c, y, x] = Σ dcol[row(c, i, j), col(oy, ox)] over the taps that read (y, x).
template <typename T>
DMDLK_HD T col2im_at(const ConvGeometry& g, const T* dcol, int64_t c, int64_t y, int64_t x) {
  T sum = 0;
  int64_t cols = g.col_cols();
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    int64_t ty = y + g.pad_h - i * g.dilation_h;
    if (ty < 0 || ty % g.stride_h != 0) continue;
    int64_t oy = ty / g.stride_h;
    if (oy >= g.out_h) continue;
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      int64_t tx = x + g.pad_w - j * g.dilation_w;
      if (tx < 0 || tx % g.stride_w != 0) continue;
      int64_t ox = tx / g.stride_w;
      if (ox >= g.out_w) continue;
      sum += dcol[((c * g.kernel_h + i) * g.kernel_w + j) * cols + oy * g.out_w + ox];
    }
  }
  return sum;
}

namespace cpu_ops {
// The column matrix of one image, and its adjoint (row-wise loops over the same layout).
template <typename T>
void im2col(const ConvGeometry& g, const T* x, T* col);
template <typename T>
void col2im(const ConvGeometry& g, const T* dcol, T* dx);
}  // namespace cpu_ops

}  // namespace dmdlk
