#include "ops/depthwise_conv2d.h"

#include "core/thread_pool.h"

namespace dmdlk {

template <typename T>
void cpu_depthwise_forward(const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w, T* y) {
  int64_t taps = g.kernel_h * g.kernel_w, in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  parallel_for(0, planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T *plane = x + p * in_plane, *wc = w + (p % channels) * taps;
      for (int64_t oy = 0; oy < g.out_h; ++oy)
        for (int64_t ox = 0; ox < g.out_w; ++ox) y[p * out_plane + oy * g.out_w + ox] = depthwise_at(g, plane, wc, oy, ox);
    }
  });
}

template <typename T>
void cpu_depthwise_backward(const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w,
                            const T* dy, T* dx, T* dw) {
  int64_t taps = g.kernel_h * g.kernel_w, in_plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  parallel_for(0, planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      const T *dyp = dy + p * out_plane, *wc = w + (p % channels) * taps;
      for (int64_t y = 0; y < g.height; ++y)
        for (int64_t xx = 0; xx < g.width; ++xx) dx[p * in_plane + y * g.width + xx] = depthwise_input_grad_at(g, dyp, wc, y, xx);
    }
  });
  // One (channel, tap) per task, summing over the batch: no shared writes.
  int64_t batch = planes / channels;
  parallel_for(0, channels * taps, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t c = r / taps, t = r % taps;
      T sum = 0;
      for (int64_t n = 0; n < batch; ++n) {
        int64_t p = n * channels + c;
        sum += depthwise_weight_grad_plane(g, x + p * in_plane, dy + p * out_plane, t / g.kernel_w, t % g.kernel_w, 0, 1);
      }
      dw[r] = sum;
    }
  });
}

template void cpu_depthwise_forward<float>(const ConvGeometry&, int64_t, int64_t, const float*, const float*, float*);
template void cpu_depthwise_forward<double>(const ConvGeometry&, int64_t, int64_t, const double*, const double*, double*);
template void cpu_depthwise_backward<float>(const ConvGeometry&, int64_t, int64_t, const float*, const float*,
                                            const float*, float*, float*);
template void cpu_depthwise_backward<double>(const ConvGeometry&, int64_t, int64_t, const double*, const double*,
                                             const double*, double*, double*);

}  // namespace dmdlk
