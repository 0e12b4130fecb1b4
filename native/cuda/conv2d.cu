// Convolution on CUDA: depthwise convolutions by their direct kernels
// (depthwise_conv2d.cu); every other form as im2col into a column buffer and
// one grouped GEMM per image (a 1×1 convolution with stride 1 and no padding
// reads x as its columns), the bias added after. The launches are exactly
// plan_conv2d_forward's and plan_conv2d_backward's (conv2d.cuh).
#include "cuda/conv2d.cuh"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
Tensor columns(int device, const ConvPlan& p) {
  return p.direct_columns
             ? Tensor()
             : Tensor::empty({p.geo.col_rows(), p.geo.col_cols()}, dtype_of<T>::value, Device::cuda(device));
}

}  // namespace

template <typename T>
void conv2d_forward(int device, const ConvPlan& p, const T* x, const T* w, const T* bias, T* y) {
  const ConvGeometry& g = p.geo;
  if (p.depthwise) {
    depthwise_forward(device, g, p.batch * p.in_channels, p.in_channels, x, w, y);
  } else {
    Tensor col = columns<T>(device, p);
    ConvGemmShape s = conv_gemm_shape(p);
    int64_t x_image = g.channels * g.height * g.width, y_image = p.out_channels * g.col_cols();
    for (int64_t n = 0; n < p.batch; ++n) {
      const T* b = x + n * x_image;
      if (!p.direct_columns) im2col(device, g, b, col.data<T>()), b = col.data<T>();
      gemm<T>(device, conv_forward_gemm(s), 1, w, b, 0, y + n * y_image);
    }
  }
  if (bias) add_bias(device, conv_bias_layout(p), bias, y);
}

template <typename T>
void conv2d_backward(int device, const ConvPlan& p, const T* dy, const T* x, const T* w, T* dx, T* dw, T* db) {
  const ConvGeometry& g = p.geo;
  if (p.depthwise) {
    depthwise_backward(device, g, p.batch * p.in_channels, p.in_channels, x, w, dy, dx, dw);
  } else {
    Tensor col = columns<T>(device, p), dcol = columns<T>(device, p);
    ConvGemmShape s = conv_gemm_shape(p);
    int64_t x_image = g.channels * g.height * g.width, y_image = p.out_channels * g.col_cols();
    for (int64_t n = 0; n < p.batch; ++n) {
      const T *dyn = dy + n * y_image, *b = x + n * x_image;
      if (!p.direct_columns) im2col(device, g, b, col.data<T>()), b = col.data<T>();
      gemm<T>(device, conv_weight_grad_gemm(s), 1, dyn, b, n > 0 ? 1 : 0, dw);
      gemm<T>(device, conv_column_grad_gemm(s), 1, w, dyn, 0, p.direct_columns ? dx + n * x_image : dcol.data<T>());
      if (!p.direct_columns) col2im(device, g, static_cast<const T*>(dcol.data<T>()), dx + n * x_image);
    }
  }
  if (db) bias_grad(device, conv_bias_layout(p), dy, db);
}

#define INSTANTIATE(T)                                                                     \
  template void conv2d_forward<T>(int, const ConvPlan&, const T*, const T*, const T*, T*); \
  template void conv2d_backward<T>(int, const ConvPlan&, const T*, const T*, const T*, T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
