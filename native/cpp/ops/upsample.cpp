#include "ops/upsample.h"

#include <vector>

#include "core/thread_pool.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

// Every output column's taps, computed once per call: the CPU loops then do
// plain multiply-adds (the shared per-pixel functions recompute them).
std::vector<Up2Taps> column_taps(int64_t w) {
  std::vector<Up2Taps> taps(size_t(2 * w));
  for (int64_t ox = 0; ox < 2 * w; ++ox) taps[size_t(ox)] = up2_taps(ox, w);
  return taps;
}

template <typename T>
void cpu_upsample2x(int64_t planes, int64_t h, int64_t w, const T* x, T* y) {
  std::vector<Up2Taps> cols = column_taps(w);
  parallel_for(0, planes * 2 * h, std::max<int64_t>(1, 1024 / w), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t p = r / (2 * h);
      Up2Taps t = up2_taps(r % (2 * h), h);
      const T *r0 = x + (p * h + t.i0) * w, *r1 = x + (p * h + t.i1) * w;
      T* out = y + r * 2 * w;
      for (int64_t ox = 0; ox < 2 * w; ++ox) {
        const Up2Taps& c = cols[size_t(ox)];
        out[ox] = T(t.w0 * (c.w0 * r0[c.i0] + c.w1 * r0[c.i1]) + t.w1 * (c.w0 * r1[c.i0] + c.w1 * r1[c.i1]));
      }
    }
  });
}

// The transpose, one plane per task: each output scatters into the four inputs it read.
template <typename T>
void cpu_upsample2x_backward(int64_t planes, int64_t h, int64_t w, const T* dy, T* dx) {
  std::vector<Up2Taps> cols = column_taps(w);
  parallel_for(0, planes, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t p = lo; p < hi; ++p) {
      T* plane = dx + p * h * w;
      std::fill(plane, plane + h * w, T(0));
      for (int64_t oy = 0; oy < 2 * h; ++oy) {
        Up2Taps t = up2_taps(oy, h);
        T *r0 = plane + t.i0 * w, *r1 = plane + t.i1 * w;
        const T* g = dy + (p * 2 * h + oy) * 2 * w;
        for (int64_t ox = 0; ox < 2 * w; ++ox) {
          const Up2Taps& c = cols[size_t(ox)];
          T a = T(t.w0) * g[ox], b = T(t.w1) * g[ox];
          r0[c.i0] += T(c.w0) * a, r0[c.i1] += T(c.w1) * a;
          r1[c.i0] += T(c.w0) * b, r1[c.i1] += T(c.w1) * b;
        }
      }
    }
  });
}

}  // namespace

Tensor upsample2x(const Tensor& x) {
  check_floating(x, "upsample2x", "x");
  check_rank(x, 4, "upsample2x", "x", "[N, C, H, W]");
  int64_t h = x.dim(2), w = x.dim(3), planes = x.dim(0) * x.dim(1);
  Tensor y = Tensor::empty({x.dim(0), x.dim(1), 2 * h, 2 * w}, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    if (x.device().is_cpu()) {
      cpu_upsample2x(planes, h, w, xp, yp);
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::upsample2x_forward(x.device().index, planes, h, w, xp, yp));
    }
  });
  return y;
}

Tensor upsample2x_backward(const Tensor& dy, const Tensor& x) {
  check_floating(x, "upsample2x_backward", "x");
  check_rank(x, 4, "upsample2x_backward", "x", "[N, C, H, W]");
  check_compatible(dy, x, "upsample2x_backward", "dy", "x");
  int64_t h = x.dim(2), w = x.dim(3), planes = x.dim(0) * x.dim(1);
  check_shape(dy, {x.dim(0), x.dim(1), 2 * h, 2 * w}, "upsample2x_backward", "dy");
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (dx.numel() == 0) return dx;
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* dyp = dy.data<T>();
    T* dxp = dx.data<T>();
    if (x.device().is_cpu()) {
      cpu_upsample2x_backward(planes, h, w, dyp, dxp);
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::upsample2x_backward(x.device().index, planes, h, w, dyp, dxp));
    }
  });
  return dx;
}

}  // namespace dmdlk
