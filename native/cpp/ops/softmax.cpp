#include "ops/softmax.h"

#include <algorithm>
#include <cmath>

#include "core/thread_pool.h"
#include "gpu/softmax.h"
#include "ops/backend.h"
#include "ops/op.h"
#include "ops/op_checks.h"
#include "ops/softmax_row.h"

namespace dmdlk {

namespace {
int64_t rows_of(const Tensor& t) { return t.numel() / std::max<int64_t>(1, t.dim(-1)); }
}  // namespace

namespace cpu_ops {

template <typename T>
void softmax_forward(int64_t rows, int64_t n, const T* x, T* y) {
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / n), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) softmax_row(x + r * n, y + r * n, n);
  });
}

template <typename T>
void softmax_backward(int64_t rows, int64_t n, const T* dy, const T* y, T* dx) {
  parallel_for(0, rows, std::max<int64_t>(1, 4096 / n), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const T *yr = y + r * n, *dyr = dy + r * n;
      T dot = 0;
      for (int64_t i = 0; i < n; ++i) dot += dyr[i] * yr[i];
      for (int64_t i = 0; i < n; ++i) dx[r * n + i] = yr[i] * (dyr[i] - dot);
    }
  });
}

}  // namespace cpu_ops

Tensor softmax(const Tensor& x) {
  check_floating(x, "softmax", "x");
  DMDLK_CHECK(x.rank() >= 1, ErrorCode::Shape, "softmax: x must have rank >= 1, got a scalar");
  Tensor y = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (x.numel() == 0) return y;
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), softmax_forward, rows_of(x), x.dim(-1), x.data<T>(), y.data<T>());
  });
  return y;
}

Tensor softmax_backward(const Tensor& dy, const Tensor& y) {
  check_floating(y, "softmax_backward", "y");
  check_compatible(dy, y, "softmax_backward", "dy", "y");
  check_shape(dy, y.shape(), "softmax_backward", "dy");
  Tensor dx = Tensor::empty(y.shape(), y.dtype(), y.device());
  if (y.numel() == 0) return dx;
  dispatch_floating(y.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(y.device(), softmax_backward, rows_of(y), y.dim(-1), dy.data<T>(), y.data<T>(), dx.data<T>());
  });
  return dx;
}

// ---- the graph's softmax over the last axis ----------------------------------------
extern const OpDef softmax_op{
    OpKind::Softmax,
    "softmax",
    no_attrs,
    [](const std::vector<Shape>& in, const OpAttrs&) {
      DMDLK_CHECK(!in[0].empty(), ErrorCode::Shape, "softmax: x must have rank >= 1, got a scalar");
      return std::vector<Shape>{in[0]};
    },
    [](const Tensors& in, const OpAttrs&) { return Tensors{softmax(in[0])}; },
    [](const Tensors&, const Tensors& out, const Tensors& d, const OpAttrs&, WantedGrads) {
      return Tensors{softmax_backward(d[0], out[0])};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      return OpCost{0, 2 * shapes_bytes(in)};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass pass, WantedGrads) {
      int64_t n = in[0].back(), rows = shape_numel(in[0]) / std::max<int64_t>(1, n), bytes = int64_t(dtype_size(t));
      return pass == Pass::Forward ? cuda_ops::plan_softmax_forward(rows, n, bytes)
                                   : cuda_ops::plan_softmax_backward(rows, n, bytes);
    },
};

}  // namespace dmdlk
