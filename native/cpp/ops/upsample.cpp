#include "ops/upsample.h"

#include <vector>

#include "core/thread_pool.h"
#include "gpu/upsample.h"
#include "ops/backend.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace cpu_ops {

// The CPU works a row at a time and separably: a vertical blend of two input
// rows, then the horizontal ×2. Away from the ends, outputs 2j+1 and 2j+2 read
// inputs j and j+1 with weights ¾, ¼ and ¼, ¾ (up2_taps gives exactly these);
// outputs 0 and 2w−1 read the clamped ends by their taps. Fixed weights keep
// the loops free of gathers, so they vectorize.
constexpr double kNear = 0.75, kFar = 0.25;

template <typename T>
void widen_row(const T* v, int64_t w, T* out) {
  const T near = T(kNear), far = T(kFar);
  for (int64_t j = 0; j + 1 < w; ++j) {
    out[2 * j + 1] = near * v[j] + far * v[j + 1];
    out[2 * j + 2] = far * v[j] + near * v[j + 1];
  }
  for (int64_t ox : {int64_t(0), 2 * w - 1}) {
    Up2Taps c = up2_taps(ox, w);
    out[ox] = T(c.w0) * v[c.i0] + T(c.w1) * v[c.i1];
  }
}

// The transpose of widen_row: u[x] = Σ over outputs o of weight(o, x)·g[o].
template <typename T>
void narrow_row(const T* g, int64_t w, T* u) {
  const T near = T(kNear), far = T(kFar);
  for (int64_t x = 0; x < w; ++x) {
    T from_left = x >= 1 ? far * g[2 * x - 1] + near * g[2 * x] : T(0);          // the pair j = x − 1
    T from_right = x + 1 < w ? near * g[2 * x + 1] + far * g[2 * x + 2] : T(0);  // the pair j = x
    u[x] = from_left + from_right;
  }
  for (int64_t ox : {int64_t(0), 2 * w - 1}) {
    Up2Taps c = up2_taps(ox, w);
    u[c.i0] += T(c.w0) * g[ox];
    u[c.i1] += T(c.w1) * g[ox];
  }
}

template <typename T>
void upsample2x_forward(int64_t planes, int64_t h, int64_t w, const T* x, T* y) {
  parallel_for(0, planes * 2 * h, std::max<int64_t>(1, 1024 / w), [&](int64_t lo, int64_t hi) {
    std::vector<T> blend(static_cast<size_t>(w));
    for (int64_t r = lo; r < hi; ++r) {
      int64_t p = r / (2 * h);
      Up2Taps t = up2_taps(r % (2 * h), h);
      const T *r0 = x + (p * h + t.i0) * w, *r1 = x + (p * h + t.i1) * w;
      const T w0 = T(t.w0), w1 = T(t.w1);
      for (int64_t i = 0; i < w; ++i) blend[size_t(i)] = w0 * r0[i] + w1 * r1[i];
      widen_row(blend.data(), w, y + r * 2 * w);
    }
  });
}

// The transpose, one plane per task: each output row's narrowed gradient is
// added into the two input rows it read (no shared writes).
template <typename T>
void upsample2x_backward(int64_t planes, int64_t h, int64_t w, const T* dy, T* dx) {
  parallel_for(0, planes, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> narrowed(static_cast<size_t>(w));
    for (int64_t p = lo; p < hi; ++p) {
      T* plane = dx + p * h * w;
      std::fill(plane, plane + h * w, T(0));
      for (int64_t oy = 0; oy < 2 * h; ++oy) {
        narrow_row(dy + (p * 2 * h + oy) * 2 * w, w, narrowed.data());
        Up2Taps t = up2_taps(oy, h);
        T *r0 = plane + t.i0 * w, *r1 = plane + t.i1 * w;
        const T w0 = T(t.w0), w1 = T(t.w1);
        for (int64_t i = 0; i < w; ++i) r0[i] += w0 * narrowed[size_t(i)];
        for (int64_t i = 0; i < w; ++i) r1[i] += w1 * narrowed[size_t(i)];
      }
    }
  });
}

}  // namespace cpu_ops

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
    DMDLK_ON_DEVICE(x.device(), upsample2x_forward, planes, h, w, xp, yp);
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
    DMDLK_ON_DEVICE(x.device(), upsample2x_backward, planes, h, w, dyp, dxp);
  });
  return dx;
}

// ---- the graph's bilinear ×2 -------------------------------------------------------
extern const OpDef upsample2x_op{
    OpKind::Upsample2x,
    "upsample2x",
    no_attrs,
    [](const std::vector<Shape>& in, const OpAttrs&) {
      const Shape& x = in[0];
      DMDLK_CHECK(x.size() == 4, ErrorCode::Shape, "upsample2x: x must have rank 4 ([N, C, H, W]), got shape ",
                  shape_str(x));
      return std::vector<Shape>{{x[0], x[1], 2 * x[2], 2 * x[3]}};
    },
    [](const Tensors& in, const OpAttrs&) { return Tensors{upsample2x(in[0])}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&, WantedGrads) {
      return Tensors{upsample2x_backward(d[0], in[0])};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      return OpCost{0, 5 * shapes_bytes(in)};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass pass, WantedGrads) {
      const Shape& x = in[0];
      int64_t planes = x[0] * x[1], bytes = int64_t(dtype_size(t));
      return std::vector<cuda::LaunchPlan>{pass == Pass::Forward
                                               ? cuda_ops::plan_upsample2x_forward(planes, x[2], x[3], bytes)
                                               : cuda_ops::plan_upsample2x_backward(planes, x[2], x[3], bytes)};
    },
};

}  // namespace dmdlk
