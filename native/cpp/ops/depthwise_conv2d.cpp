#include "ops/depthwise_conv2d.h"

#include <algorithm>

#include "core/thread_pool.h"
#include "ops/backend.h"

namespace dmdlk {

namespace {

// The outputs o in [lo, hi) whose input o·stride + offset lies inside [0, size):
// with it the CPU loops below need no bounds test per element and vectorize.
struct TapRange {
  int64_t lo, hi;
};
TapRange tap_range(int64_t offset, int64_t stride, int64_t size, int64_t outputs) {
  int64_t lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t hi = size - 1 - offset < 0 ? 0 : (size - 1 - offset) / stride + 1;
  hi = std::min(hi, outputs);
  return {std::min(lo, hi), hi};
}

// Calls body(i, j, w_ij, y range, x range, row offset, column offset) for every tap.
template <typename T, typename Body>
void for_each_tap(const ConvGeometry& g, const T* wc, Body&& body) {
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    int64_t yoff = i * g.dilation_h - g.pad_h;
    TapRange rows = tap_range(yoff, g.stride_h, g.height, g.out_h);
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      int64_t xoff = j * g.dilation_w - g.pad_w;
      body(wc[i * g.kernel_w + j], rows, tap_range(xoff, g.stride_w, g.width, g.out_w), yoff, xoff);
    }
  }
}

}  // namespace

namespace cpu_ops {

// The CPU kernels walk taps outermost and rows of outputs inside, so the
// innermost loop is a strided multiply-add over a row (the shared per-pixel
// functions of the header, used by CUDA, test bounds and divide per tap).
template <typename T>
void depthwise_forward(const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w, T* y) {
  int64_t taps = g.kernel_h * g.kernel_w, in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  int64_t sw = g.stride_w;
  parallel_for(0, planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T* plane = x + p * in_plane;
      T* out = y + p * out_plane;
      std::fill(out, out + out_plane, T(0));
      for_each_tap(g, w + (p % channels) * taps, [&](T wv, TapRange rows, TapRange cols, int64_t yoff, int64_t xoff) {
        for (int64_t oy = rows.lo; oy < rows.hi; ++oy) {
          const T* in = plane + (oy * g.stride_h + yoff) * g.width + xoff;
          T* row = out + oy * g.out_w;
          for (int64_t ox = cols.lo; ox < cols.hi; ++ox) row[ox] += wv * in[ox * sw];
        }
      });
    }
  });
}

template <typename T>
void depthwise_backward(const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w, const T* dy,
                        T* dx, T* dw) {
  int64_t taps = g.kernel_h * g.kernel_w, in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  int64_t sw = g.stride_w;
  // dx: each plane's outputs scatter into its own input plane, tap by tap.
  parallel_for(0, planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T* dyp = dy + p * out_plane;
      T* dxp = dx + p * in_plane;
      std::fill(dxp, dxp + in_plane, T(0));
      for_each_tap(g, w + (p % channels) * taps, [&](T wv, TapRange rows, TapRange cols, int64_t yoff, int64_t xoff) {
        for (int64_t oy = rows.lo; oy < rows.hi; ++oy) {
          T* in = dxp + (oy * g.stride_h + yoff) * g.width + xoff;
          const T* row = dyp + oy * g.out_w;
          for (int64_t ox = cols.lo; ox < cols.hi; ++ox) in[ox * sw] += wv * row[ox];
        }
      });
    }
  });
  // dw: one channel per task, every tap, summing over the batch: no shared writes.
  int64_t batch = planes / channels;
  parallel_for(0, channels, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      T* dwc = dw + c * taps;
      std::fill(dwc, dwc + taps, T(0));
      for (int64_t n = 0; n < batch; ++n) {
        const T *plane = x + (n * channels + c) * in_plane, *dyp = dy + (n * channels + c) * out_plane;
        int64_t t = 0;
        for_each_tap(g, dwc, [&](T, TapRange rows, TapRange cols, int64_t yoff, int64_t xoff) {
          T sum = 0;
          for (int64_t oy = rows.lo; oy < rows.hi; ++oy) {
            const T* in = plane + (oy * g.stride_h + yoff) * g.width + xoff;
            const T* row = dyp + oy * g.out_w;
            for (int64_t ox = cols.lo; ox < cols.hi; ++ox) sum += row[ox] * in[ox * sw];
          }
          dwc[t++] += sum;
        });
      }
    }
  });
}

#define INSTANTIATE(T)                                                                               \
  template void depthwise_forward<T>(const ConvGeometry&, int64_t, int64_t, const T*, const T*, T*); \
  template void depthwise_backward<T>(const ConvGeometry&, int64_t, int64_t, const T*, const T*, const T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace cpu_ops

}  // namespace dmdlk
