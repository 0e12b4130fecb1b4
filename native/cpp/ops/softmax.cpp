#include "ops/softmax.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"
#include "ops/op.h"
#include "ops/op_checks.h"
#include "ops/softmax_row.h"

namespace dmdlk {

namespace {
int64_t rows_of(const Tensor& t) { return t.numel() / std::max<int64_t>(1, t.dim(-1)); }
}  // namespace

Tensor softmax(const Tensor& x) {
  check_floating(x, "softmax", "x");
  DMDLK_CHECK(x.rank() >= 1, ErrorCode::Shape, "softmax: x must have rank >= 1, got a scalar");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  int64_t n = x.dim(-1), rows = rows_of(x);
  if (x.numel() == 0) return y;
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    if (x.device().is_cpu()) {
      parallel_for(0, rows, std::max<int64_t>(1, 4096 / n), [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
          softmax_row(xp + r * n, yp + r * n, n);
        }
      });
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::softmax_forward(x.device().index, rows, n, xp, yp));
    }
  });
  return y;
}

Tensor softmax_backward(const Tensor& dy, const Tensor& y) {
  check_floating(y, "softmax_backward", "y");
  check_compatible(dy, y, "softmax_backward", "dy", "y");
  check_shape(dy, y.shape(), "softmax_backward", "dy");
  Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
  int64_t n = y.dim(-1), rows = rows_of(y);
  if (y.numel() == 0) return dx;
  dispatch_floating(y.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *yp = y.data<T>(), *dyp = dy.data<T>();
    T* dxp = dx.data<T>();
    if (y.device().is_cpu()) {
      parallel_for(0, rows, std::max<int64_t>(1, 4096 / n), [&](int64_t lo, int64_t hi) {
        for (int64_t r = lo; r < hi; ++r) {
          const T *yr = yp + r * n, *dyr = dyp + r * n;
          T dot = 0;
          for (int64_t i = 0; i < n; ++i) dot += dyr[i] * yr[i];
          for (int64_t i = 0; i < n; ++i) dxp[r * n + i] = yr[i] * (dyr[i] - dot);
        }
      });
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::softmax_backward(y.device().index, rows, n, dyp, yp, dxp));
    }
  });
  return dx;
}

// ---- the graph's softmax over the last axis ----------------------------------------
extern const OpDef softmax_op{
    OpKind::Softmax, "softmax",
    [](const std::vector<Shape>& in, const OpAttrs&) {
      DMDLK_CHECK(!in[0].empty(), ErrorCode::Shape, "softmax: x must have rank >= 1, got a scalar");
      return std::vector<Shape>{in[0]};
    },
    [](const Tensors& in, const OpAttrs&) { return Tensors{softmax(in[0])}; },
    [](const Tensors&, const Tensors& out, const Tensors& d, const OpAttrs&) { return Tensors{softmax_backward(d[0], out[0])}; },
    [](const std::vector<Shape>& in, const OpAttrs&) { return OpCost{0, 2 * shapes_bytes(in)}; },
    nullptr};

}  // namespace dmdlk
