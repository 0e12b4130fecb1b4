// Bilinear ×2 upsampling with align_corners=False (PyTorch's F.interpolate):
// output pixel o reads source position max(0, (o + 0.5) / 2 − 0.5) between
// rows i0 = ⌊src⌋ and i1 = min(i0 + 1, size − 1). On CUDA the backward is a
// gather: each input collects from the few outputs (2i − 2 … 2i + 2) that read
// it, so no atomics; on the CPU each plane is one task that scatters every
// output into the four inputs it read (no shared writes either, and cheaper).
#pragma once
#include "core/host_device.h"
#include "core/tensor.h"

namespace dmdlk {

struct Up2Taps {
  int64_t i0, i1;
  double w0, w1;  // weights of rows i0 and i1
};

DMDLK_HD Up2Taps up2_taps(int64_t o, int64_t in_size) {
  double src = (o + 0.5) * 0.5 - 0.5;
  if (src < 0) src = 0;
  int64_t i0 = static_cast<int64_t>(src);
  int64_t i1 = i0 + 1 < in_size ? i0 + 1 : in_size - 1;
  double l = src - double(i0);
  return {i0, i1, 1.0 - l, l};
}

// The weight with which output o reads input i.
DMDLK_HD double up2_weight(int64_t o, int64_t i, int64_t in_size) {
  Up2Taps t = up2_taps(o, in_size);
  return (t.i0 == i ? t.w0 : 0.0) + (t.i1 == i ? t.w1 : 0.0);
}

template <typename T>
DMDLK_HD T upsample2_at(const T* plane, int64_t h, int64_t w, int64_t oy, int64_t ox) {
  Up2Taps ty = up2_taps(oy, h), tx = up2_taps(ox, w);
  return T(ty.w0 * (tx.w0 * plane[ty.i0 * w + tx.i0] + tx.w1 * plane[ty.i0 * w + tx.i1]) +
           ty.w1 * (tx.w0 * plane[ty.i1 * w + tx.i0] + tx.w1 * plane[ty.i1 * w + tx.i1]));
}

template <typename T>
DMDLK_HD T upsample2_grad_at(const T* dy_plane, int64_t h, int64_t w, int64_t y, int64_t x) {
  double sum = 0;
  int64_t oy0 = 2 * y - 2 < 0 ? 0 : 2 * y - 2, oy1 = 2 * y + 3 < 2 * h ? 2 * y + 3 : 2 * h;
  int64_t ox0 = 2 * x - 2 < 0 ? 0 : 2 * x - 2, ox1 = 2 * x + 3 < 2 * w ? 2 * x + 3 : 2 * w;
  for (int64_t oy = oy0; oy < oy1; ++oy) {
    double wy = up2_weight(oy, y, h);
    if (wy == 0) continue;
    for (int64_t ox = ox0; ox < ox1; ++ox) sum += wy * up2_weight(ox, x, w) * dy_plane[oy * 2 * w + ox];
  }
  return T(sum);
}

Tensor upsample2x(const Tensor& x);
Tensor upsample2x_backward(const Tensor& dy, const Tensor& x);

}  // namespace dmdlk
