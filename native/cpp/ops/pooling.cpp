#include "ops/pooling.h"

#include "core/thread_pool.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

PoolGeometry pool_geometry(const Tensor& x, int64_t kernel, int64_t stride, int64_t pad, const char* op) {
  check_floating(x, op, "x");
  check_rank(x, 4, op, "x", "[N, C, H, W]");
  DMDLK_CHECK(kernel >= 1 && stride >= 1 && pad >= 0 && 2 * pad <= kernel, ErrorCode::InvalidArg, op,
              ": kernel ", kernel, ", stride ", stride, " and padding ", pad,
              " must satisfy kernel >= 1, stride >= 1, 0 <= padding <= kernel / 2");
  PoolGeometry g{x.dim(2), x.dim(3), kernel, stride, pad, 0, 0};
  DMDLK_CHECK(g.height + 2 * pad >= kernel && g.width + 2 * pad >= kernel, ErrorCode::Shape, op, ": the ", kernel,
              "×", kernel, " window is larger than the padded input ", shape_str(x.shape()));
  g.out_h = (g.height + 2 * pad - kernel) / stride + 1;
  g.out_w = (g.width + 2 * pad - kernel) / stride + 1;
  return g;
}

template <typename T>
void cpu_pool_forward(PoolKind kind, const PoolGeometry& g, int64_t planes, const T* x, T* y) {
  parallel_for(0, planes * g.out_h, std::max<int64_t>(1, 2048 / g.out_w), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t p = r / g.out_h, oy = r % g.out_h;
      const T* plane = x + p * g.height * g.width;
      for (int64_t ox = 0; ox < g.out_w; ++ox)
        y[r * g.out_w + ox] = kind == PoolKind::Avg ? avg_pool_at(g, plane, oy, ox) : plane[max_pool_argmax(g, plane, oy, ox)];
    }
  });
}

template <typename T>
void cpu_pool_backward(PoolKind kind, const PoolGeometry& g, int64_t planes, const T* x, const T* dy, T* dx) {
  parallel_for(0, planes * g.height, std::max<int64_t>(1, 2048 / g.width), [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t p = r / g.height, y = r % g.height;
      const T *plane = x + p * g.height * g.width, *dy_plane = dy + p * g.out_h * g.out_w;
      for (int64_t xx = 0; xx < g.width; ++xx)
        dx[r * g.width + xx] = kind == PoolKind::Avg ? avg_pool_grad_at(g, dy_plane, y, xx)
                                                     : max_pool_grad_at(g, plane, dy_plane, y, xx);
    }
  });
}

Tensor pool_forward(PoolKind kind, const Tensor& x, const PoolGeometry& g) {
  Tensor y = Tensor::empty({x.dim(0), x.dim(1), g.out_h, g.out_w}, x.dtype(), x.device());
  int64_t planes = x.dim(0) * x.dim(1);
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (x.device().is_cpu()) cpu_pool_forward(kind, g, planes, x.data<T>(), y.data<T>());
    else DMDLK_CUDA_DISPATCH(cuda_ops::pool2d_forward(x.device().index, kind, g, planes, x.data<T>(), y.data<T>()));
  });
  return y;
}

Tensor pool_backward(PoolKind kind, const Tensor& dy, const Tensor& x, const PoolGeometry& g, const char* op) {
  check_compatible(dy, x, op, "dy", "x");
  check_shape(dy, {x.dim(0), x.dim(1), g.out_h, g.out_w}, op, "dy");
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  int64_t planes = x.dim(0) * x.dim(1);
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (x.device().is_cpu()) cpu_pool_backward(kind, g, planes, x.data<T>(), dy.data<T>(), dx.data<T>());
    else DMDLK_CUDA_DISPATCH(cuda_ops::pool2d_backward(x.device().index, kind, g, planes, x.data<T>(), dy.data<T>(), dx.data<T>()));
  });
  return dx;
}

void check_image(const Tensor& x, const char* op) {
  check_floating(x, op, "x");
  check_rank(x, 4, op, "x", "[N, C, H, W]");
}

Tensor channel_reduce(ChannelReduce kind, const Tensor& x, const char* op) {
  check_image(x, op);
  DMDLK_CHECK(x.dim(1) >= 1, ErrorCode::Shape, op, ": x has no channels: ", shape_str(x.shape()));
  int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  Tensor y = Tensor::empty({n, 1, x.dim(2), x.dim(3)}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    if (x.device().is_cpu()) {
      parallel_for(0, n * hw, 4096, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) yp[i] = channel_reduce_at(kind, xp, c, hw, i / hw, i % hw);
      });
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::channel_reduce_forward(x.device().index, kind, n, c, hw, xp, yp));
    }
  });
  return y;
}

Tensor channel_reduce_backward(ChannelReduce kind, const Tensor& dy, const Tensor& x, const char* op) {
  check_image(x, op);
  check_compatible(dy, x, op, "dy", "x");
  check_shape(dy, {x.dim(0), 1, x.dim(2), x.dim(3)}, op, "dy");
  int64_t n = x.dim(0), c = x.dim(1), hw = x.dim(2) * x.dim(3);
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *xp = x.data<T>(), *dyp = dy.data<T>();
    T* dxp = dx.data<T>();
    if (x.device().is_cpu()) {
      parallel_for(0, n * hw, 4096, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) channel_reduce_grad_at(kind, xp, dyp[i], c, hw, i / hw, i % hw, dxp);
      });
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::channel_reduce_backward(x.device().index, kind, n, c, hw, xp, dyp, dxp));
    }
  });
  return dx;
}

}  // namespace

Tensor avg_pool2d(const Tensor& x, int64_t kernel, int64_t stride, int64_t pad) {
  return pool_forward(PoolKind::Avg, x, pool_geometry(x, kernel, stride, pad, "avg_pool2d"));
}

Tensor avg_pool2d_backward(const Tensor& dy, const Tensor& x, int64_t kernel, int64_t stride, int64_t pad) {
  const char* op = "avg_pool2d_backward";
  return pool_backward(PoolKind::Avg, dy, x, pool_geometry(x, kernel, stride, pad, op), op);
}

Tensor max_pool2d(const Tensor& x, int64_t kernel, int64_t stride) {
  return pool_forward(PoolKind::Max, x, pool_geometry(x, kernel, stride, 0, "max_pool2d"));
}

Tensor max_pool2d_backward(const Tensor& dy, const Tensor& x, int64_t kernel, int64_t stride) {
  const char* op = "max_pool2d_backward";
  return pool_backward(PoolKind::Max, dy, x, pool_geometry(x, kernel, stride, 0, op), op);
}

Tensor global_avg_pool(const Tensor& x) {
  check_image(x, "global_avg_pool");
  int64_t planes = x.dim(0) * x.dim(1), size = x.dim(2) * x.dim(3);
  DMDLK_CHECK(size > 0, ErrorCode::Shape, "global_avg_pool: x has no pixels: ", shape_str(x.shape()));
  Tensor y = Tensor::empty({x.dim(0), x.dim(1), 1, 1}, x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* xp = x.data<T>();
    T* yp = y.data<T>();
    if (x.device().is_cpu()) {
      parallel_for(0, planes, std::max<int64_t>(1, 4096 / size), [&](int64_t lo, int64_t hi) {
        for (int64_t p = lo; p < hi; ++p) {
          double sum = 0;
          for (int64_t i = 0; i < size; ++i) sum += xp[p * size + i];
          yp[p] = T(sum / size);
        }
      });
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::global_avg_pool_forward(x.device().index, planes, size, xp, yp));
    }
  });
  return y;
}

Tensor global_avg_pool_backward(const Tensor& dy, const Tensor& x) {
  check_image(x, "global_avg_pool_backward");
  check_compatible(dy, x, "global_avg_pool_backward", "dy", "x");
  check_shape(dy, {x.dim(0), x.dim(1), 1, 1}, "global_avg_pool_backward", "dy");
  int64_t planes = x.dim(0) * x.dim(1), size = x.dim(2) * x.dim(3);
  Tensor dx = Tensor::empty(x.shape(), x.dtype(), x.device());
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* dyp = dy.data<T>();
    T* dxp = dx.data<T>();
    if (x.device().is_cpu()) {
      parallel_for(0, planes * size, 16384, [&](int64_t lo, int64_t hi) {
        for (int64_t i = lo; i < hi; ++i) dxp[i] = dyp[i / size] / T(size);
      });
    } else {
      DMDLK_CUDA_DISPATCH(cuda_ops::global_avg_pool_backward(x.device().index, planes, size, dyp, dxp));
    }
  });
  return dx;
}

Tensor channel_mean(const Tensor& x) { return channel_reduce(ChannelReduce::Mean, x, "channel_mean"); }
Tensor channel_mean_backward(const Tensor& dy, const Tensor& x) {
  return channel_reduce_backward(ChannelReduce::Mean, dy, x, "channel_mean_backward");
}
Tensor channel_max(const Tensor& x) { return channel_reduce(ChannelReduce::Max, x, "channel_max"); }
Tensor channel_max_backward(const Tensor& dy, const Tensor& x) {
  return channel_reduce_backward(ChannelReduce::Max, dy, x, "channel_max_backward");
}

}  // namespace dmdlk
