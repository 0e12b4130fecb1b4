// One sample point of DDLK's deformable convolution (depthwise, one offset
// group: every channel of an image reads the same points), with everything
// the kernels need from it computed once for all channels: its corners, their
// bilinear weights and derivative coefficients. The CPU kernels
// (deform_depthwise_cpu.cpp, deform_depthwise_avx2.cpp) and the CUDA ones
// (native/cuda/deform_depthwise.cu) make it with the one function below.
// Semantics are deform_conv2d.h's (torchvision's).
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "ops/deform_conv2d.h"

namespace dmdlk {

// Its four corners (00, 01, 10, 11) as pixel indices into an image plane (0
// where the corner is outside; bit q of `inside` set where corner q is in)
// and, per corner, the bilinear weight of the
// value (0 where the corner, or the whole point, is outside) and its
// coefficients in ∂value/∂y and ∂value/∂x (0 where the corner is outside:
// torchvision checks corners one by one there). y0, x0: the upper-left
// corner's row and column (held: see below), where the CUDA backward places
// its scatter.
template <typename T>
struct DeformSample {
  int32_t index[4];
  int32_t y0, x0;
  uint32_t inside;
  T value[4];
  T grad_y[4];
  T grad_x[4];
  DMDLK_HD bool corner_inside(int q) const { return inside & (1u << q); }
};

// A coordinate held to [−3, size + 2] and its floor: beyond that range every
// corner is outside whatever the exact value (NaN lands there too), and the
// floor of a held value is a plain conversion, not a libm call.
template <typename T>
DMDLK_HD T deform_held(T v, int64_t size) {
  return v > T(-3) ? (v < T(size + 2) ? v : T(size + 2)) : T(-3);
}
template <typename T>
DMDLK_HD int64_t deform_floor_held(T v) {
  int64_t i = int64_t(v);
  return i - (T(i) > v);
}

// The sample at point (y, x) of an image of g's height and width.
template <typename T>
DMDLK_HD DeformSample<T> make_deform_sample(const DeformGeometry& g, T y, T x) {
  DeformSample<T> s;
  bool outside = deform_outside(g.height, g.width, y, x);
  y = deform_held(y, g.height), x = deform_held(x, g.width);
  // 32-bit from here: a held coordinate is within 3 of the image, whose
  // planes are indexed by int32 (DeformSample::index).
  int32_t height = int32_t(g.height), width = int32_t(g.width);
  int32_t y0 = int32_t(deform_floor_held(y)), x0 = int32_t(deform_floor_held(x));
  T ly = y - T(y0), lx = x - T(x0), hy = T(1) - ly, hx = T(1) - lx;
  s.y0 = y0, s.x0 = x0, s.inside = 0;
  const T value[4] = {hy * hx, hy * lx, ly * hx, ly * lx};
  const T grad_y[4] = {-hx, -lx, hx, lx}, grad_x[4] = {-hy, hy, -ly, ly};
  DMDLK_UNROLL
  for (int k = 0; k < 4; ++k) {
    int32_t cy = y0 + k / 2, cx = x0 + k % 2;
    bool in = cy >= 0 && cy < height && cx >= 0 && cx < width;
    s.index[k] = in ? cy * width + cx : 0;
    s.inside |= uint32_t(in) << k;
    s.value[k] = in && !outside ? value[k] : T(0);
    s.grad_y[k] = in ? grad_y[k] : T(0);
    s.grad_x[k] = in ? grad_x[k] : T(0);
  }
  return s;
}

// Σ_q w[q] · v[q]: a sample's value (w = s.value) or a derivative (s.grad_y, s.grad_x) from its corners v.
template <typename T>
DMDLK_HD T deform_dot(const T w[4], const T v[4]) {
  return w[0] * v[0] + w[1] * v[1] + w[2] * v[2] + w[3] * v[3];
}

// deform_dot over the sample's corners in `plane`. A corner outside reads 0,
// selected rather than multiplied by its zero weight: an infinite pixel
// elsewhere stays out.
template <typename T>
DMDLK_HD T deform_combine(const T w[4], const DeformSample<T>& s, const T* plane) {
  T v[4];
  DMDLK_UNROLL
  for (int q = 0; q < 4; ++q) v[q] = s.corner_inside(q) ? plane[s.index[q]] : T(0);
  return deform_dot(w, v);
}

}  // namespace dmdlk
