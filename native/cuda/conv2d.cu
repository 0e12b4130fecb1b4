// Convolution on CUDA: depthwise convolutions by their direct kernels
// (depthwise_conv2d.cu); every other form as the implicit GEMMs of
// gpu/conv2d.h, the whole batch in one product per pass. The launches are
// exactly plan_conv2d_forward's and plan_conv2d_backward's.
#include <type_traits>

#include "cuda/tiled_gemm.cuh"
#include "gpu/conv2d.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

// The operands' index decomposition is 32-bit, and so are offsets within
// one image or the weight (gemm_operands.h).
void check_index_range(const ConvDims& d) {
  const int64_t limit = int64_t(1) << 31;
  // A tap's offset reaches past its channel's plane by up to the kernel's span.
  const int64_t reach = (d.geo.kernel_h - 1) * d.geo.dilation_h * d.geo.width + (d.geo.kernel_w - 1) * d.geo.dilation_w;
  DMDLK_CHECK(d.images * d.out_plane() < limit && d.images * d.in_plane() < limit && d.in_group * d.taps() < limit &&
                  d.out_group * d.taps() < limit && d.in_channels() * d.in_plane() + reach < limit &&
                  d.out_channels() * d.out_plane() < limit && d.out_channels() * d.in_group * d.taps() < limit &&
                  // the input gradient's SmallDivisor of a padded coordinate by the stride
                  (d.geo.height + d.geo.pad_h) * d.geo.stride_h < limit &&
                  (d.geo.width + d.geo.pad_w) * d.geo.stride_w < limit,
              ErrorCode::InvalidArg, "conv2d: a batch of ", d.images, " images of ", d.in_plane(),
              " pixels is beyond the CUDA kernels' 32-bit indexing");
}

template <typename T>
ConvProducts products(int device, const ConvPlan& p, bool bias_grad) {
  return conv_products(p, sizeof(T), matmul_precision(), std::is_same_v<T, float> && tiled::has_tensor_cores(device),
                       bias_grad);
}

}  // namespace

template <typename T>
void conv2d_forward(int device, const ConvPlan& p, const T* x, const T* w, const T* bias, const T* residual, T* y) {
  if (p.depthwise) {
    depthwise_forward(device, p.geo, p.batch * p.in_channels, p.in_channels, x, w, y);
    if (bias) add_bias(device, conv_bias_layout(p), bias, y);
    if (residual)  // in place: each element reads only itself
      binary_forward(device, BinaryOp::Add, make_broadcast_plan(p.out_shape, p.out_shape, "conv2d"),
                     shape_numel(p.out_shape), static_cast<const T*>(y), residual, y);
    return;
  }
  ConvDims d = conv_dims(p);
  check_index_range(d);
  ConvProducts c = products<T>(device, p, false);
  int64_t k = d.in_group * d.taps();
  DenseA<T> weight{{w, k, false, BatchOffset::strided(d.out_group * k)}};
  tiled_product<T>(device, "conv_forward", c.forward, c.forward_tiles, c.bytes, weight, ConvColumns<T>{x, d},
                   PlaneStore<T>{y, bias, d.out_channels(), d.out_group, d.out_plane(), false, residual});
}

template <typename T>
void conv2d_backward(int device, const ConvPlan& p, const T* dy, const T* x, const T* w, bool accumulate_dx, T* dx,
                     T* dw, T* db) {
  if (p.depthwise) {
    DMDLK_CHECK(dx && !accumulate_dx, ErrorCode::Internal,
                "conv2d_backward: the depthwise kernel computes dx with dweight, and writes it");
    depthwise_backward(device, p.geo, p.batch * p.in_channels, p.in_channels, x, w, dy, dx, dw);
    if (db) bias_grad(device, conv_bias_layout(p), dy, db);
    return;
  }
  ConvDims d = conv_dims(p);
  check_index_range(d);
  ConvProducts c = products<T>(device, p, db != nullptr);
  if (dx)
    tiled_product<T, kConvInputGradTiles>(
        device, "conv_input_grad", c.input_grad, c.input_grad_tiles, c.bytes, WeightT<T>{w, d}, OutputTaps<T>{dy, d},
        PlaneStore<T>{dx, nullptr, d.in_channels(), d.in_group, d.in_plane(), accumulate_dx});
  // The bias gradient is the product's column of ones (ConvColumnsT): no launch of its own.
  tiled_product<T>(device, "conv_weight_grad", c.weight_grad, c.weight_grad_tiles, c.bytes, OutputRows<T>{dy, d},
                   ConvColumnsT<T>{x, d}, WeightGradStore<T>{dw, db, d.out_group, d.in_group * d.taps()});
}

template <typename T>
void linear_weight_grad(int device, int64_t rows, int64_t in, int64_t out, const T* dy, const T* x, T* dw, T* db) {
  conv2d_backward<T>(device, linear_as_conv(rows, in, out), dy, x, nullptr, false, nullptr, dw, db);
}

#define INSTANTIATE(T)                                                                                    \
  template void conv2d_forward<T>(int, const ConvPlan&, const T*, const T*, const T*, const T*, T*);      \
  template void conv2d_backward<T>(int, const ConvPlan&, const T*, const T*, const T*, bool, T*, T*, T*); \
  template void linear_weight_grad<T>(int, int64_t, int64_t, int64_t, const T*, const T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
