#include "ops/upsample.h"

#include "core/thread_pool.h"
#include "ops/op_checks.h"

namespace dmdlk {

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
      parallel_for(0, planes * 2 * h, std::max<int64_t>(1, 1024 / w), [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
          int64_t p = r / (2 * h), oy = r % (2 * h);
          for (int64_t ox = 0; ox < 2 * w; ++ox) yp[r * 2 * w + ox] = upsample2_at(xp + p * h * w, h, w, oy, ox);
        }
      });
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
      parallel_for(0, planes * h, std::max<int64_t>(1, 1024 / w), [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
          int64_t p = r / h, y = r % h;
          for (int64_t xx = 0; xx < w; ++xx) dxp[r * w + xx] = upsample2_grad_at(dyp + p * 4 * h * w, h, w, y, xx);
        }
      });
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::upsample2x_backward(x.device().index, planes, h, w, dyp, dxp));
    }
  });
  return dx;
}

}  // namespace dmdlk
