// CUDA's convolution (conv2d.cu) and its launch plans: depthwise
// convolutions by direct kernels (depthwise_conv2d.cu); every other form as
// implicit GEMMs over the whole batch (tiled_gemm.cuh), which gather their
// columns straight from the image: no column buffer, one product per pass.
//   forward:      y[g] (Cout/G × N·Ho·Wo) = w[g] · columns(x)           (the bias in its epilogue)
//   input grad:  dx[g] (Cin/G × N·H·W)    = w[g]ᵀ · taps(dy)            (dy met by each tap, 0 between strides)
//   weight grad: dw[g] (Cout/G × Cin/G·kh·kw) = dy[g] · columns(x)ᵀ    (K = N·Ho·Wo, split; with a bias,
//                one more column, of ones, whose result is the bias gradient)
#pragma once
#include <cstdint>
#include <vector>

#include "gpu/bias.h"
#include "gpu/binary.h"
#include "gpu/gemm.h"
#include "gpu/gemm_operands.h"
#include "gpu/launch_plan.h"
#include "ops/conv2d.h"

namespace dmdlk::cuda_ops {

// bias / residual / db may be null. Every gradient is written whole.
template <typename T>
void conv2d_forward(int device, const ConvPlan& p, const T* x, const T* w, const T* bias, const T* residual, T* y);
template <typename T>
void conv2d_backward(int device, const ConvPlan& p, const T* dy, const T* x, const T* w, bool accumulate_dx, T* dx,
                     T* dw, T* db);

// A linear layer's weight and bias gradients, dw = dyᵀ·x and db = Σ dy over
// the rows, as the weight gradient of the 1×1 convolution the layer is over
// images of one pixel (x [rows, in] is NCHW [rows, in, 1, 1], dy likewise):
// the bias in the same launch, on the convolution's kernels (no others built).
template <typename T>
void linear_weight_grad(int device, int64_t rows, int64_t in, int64_t out, const T* dy, const T* x, T* dw, T* db);
inline ConvPlan linear_as_conv(int64_t rows, int64_t in, int64_t out) {
  return conv_plan({rows, in, 1, 1}, {out, in, 1, 1}, Conv2dOptions{}, "linear");
}

template <typename T>
void depthwise_forward(int device, const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w,
                       T* y);
template <typename T>
void depthwise_backward(int device, const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w,
                        const T* dy, T* dx, T* dw);

constexpr int64_t kDepthwiseWeightGradThreads = 256;

// Depthwise: one thread per output (resp. input) element, each written once
// from the `read` elements its taps gather; the weight gradient one block per
// (channel, tap), reducing over the batch.
inline cuda::LaunchPlan plan_depthwise_per_element(const char* kernel, const ConvGeometry& g, int64_t written,
                                                   int64_t read, int64_t element_bytes) {
  int64_t taps = g.kernel_h * g.kernel_w;
  cuda::LaunchPlan p =
      cuda::elementwise_plan(kernel, written, double(written + read) * element_bytes, 2.0 * written * taps);
  p.serial_reduction = taps;
  p.access = cuda::MemoryAccess::Gather;
  return p;
}
inline cuda::LaunchPlan plan_depthwise_forward(const ConvGeometry& g, int64_t planes, int64_t element_bytes) {
  return plan_depthwise_per_element("depthwise_forward", g, planes * g.out_h * g.out_w, planes * g.height * g.width,
                                    element_bytes);
}
inline cuda::LaunchPlan plan_depthwise_input_grad(const ConvGeometry& g, int64_t planes, int64_t element_bytes) {
  return plan_depthwise_per_element("depthwise_input_grad", g, planes * g.height * g.width, planes * g.out_h * g.out_w,
                                    element_bytes);
}
inline cuda::LaunchPlan plan_depthwise_weight_grad(const ConvGeometry& g, int64_t planes, int64_t channels,
                                                   int64_t element_bytes) {
  int64_t taps = g.kernel_h * g.kernel_w, outputs = (planes / channels) * g.out_h * g.out_w;
  cuda::LaunchPlan p;
  p.kernel = "depthwise_weight_grad";
  p.grid.x = channels * taps;
  p.block.x = kDepthwiseWeightGradThreads;
  p.shared_bytes = 32 * 8;  // CUB's per-warp totals
  p.bytes = double(planes) * (g.height * g.width + g.out_h * g.out_w) * element_bytes;
  p.flops = 2.0 * channels * taps * outputs;
  p.serial_reduction = cuda::blocks_to_cover(outputs, kDepthwiseWeightGradThreads);
  p.access = cuda::MemoryAccess::Gather;
  return p;
}

inline ChannelLayout conv_bias_layout(const ConvPlan& p) { return {p.batch, p.out_channels, p.geo.col_cols()}; }

inline ConvDims conv_dims(const ConvPlan& p) {
  return {p.geo, p.batch, p.groups, p.in_channels / p.groups, p.out_channels / p.groups};
}

// Each product reads x (or dx), w and y (or dy) once, as unique bytes.
inline double conv_bytes(const ConvPlan& p, int64_t element_bytes) {
  ConvDims d = conv_dims(p);
  double x = double(d.images) * d.in_channels() * d.in_plane(), y = double(d.images) * d.out_channels() * d.out_plane();
  double w = double(d.out_channels()) * d.in_group * d.taps();
  return (x + y + w) * double(element_bytes);
}

// The three products of a convolution, each with its tiling at `precision`,
// and the bytes each moves (conv_bytes). With `bias_grad`, the weight
// gradient's product has the bias gradient's column.
struct ConvProducts {
  GemmDims forward, input_grad, weight_grad;
  GemmTiling forward_tiles, input_grad_tiles, weight_grad_tiles;
  double bytes = 0;
};
// The input gradient's rows are a group's input channels, 32 in the
// network's widest layers: it may take the 32×64 tensor-core tile too.
constexpr GemmTileSet kConvInputGradTiles = GemmTileSet::AllAndWide;

inline ConvProducts conv_products(const ConvPlan& p, int64_t element_bytes, MatmulPrecision precision,
                                  bool tensor_cores, bool bias_grad) {
  ConvDims d = conv_dims(p);
  int64_t taps = d.taps(), outputs = d.images * d.out_plane(), inputs = d.images * d.in_plane();
  int64_t weight_cols = d.in_group * taps + (bias_grad ? 1 : 0);
  ConvProducts c;
  c.bytes = conv_bytes(p, element_bytes);
  c.forward_tiles = choose_gemm_tiling({"conv_forward", d.out_group, outputs, d.in_group * taps, d.groups, c.bytes},
                                       element_bytes, precision, tensor_cores);
  c.forward = gemm_dims(d.out_group, outputs, d.in_group * taps, d.groups, c.forward_tiles);
  c.input_grad_tiles =
      choose_gemm_tiling({"conv_input_grad", d.in_group, inputs, d.out_group * taps, d.groups, c.bytes}, element_bytes,
                         precision, tensor_cores, kConvInputGradTiles);
  c.input_grad = gemm_dims(d.in_group, inputs, d.out_group * taps, d.groups, c.input_grad_tiles);
  c.weight_grad_tiles = choose_gemm_tiling({"conv_weight_grad", d.out_group, weight_cols, outputs, d.groups, c.bytes},
                                           element_bytes, precision, tensor_cores);
  c.weight_grad = gemm_dims(d.out_group, weight_cols, outputs, d.groups, c.weight_grad_tiles);
  return c;
}

// What conv2d_forward launches: the product, its epilogue adding the bias
// and the residual; the depthwise kernel, then each of them on its own.
inline std::vector<cuda::LaunchPlan> plan_conv2d_forward(const ConvPlan& p, int64_t element_bytes, bool bias,
                                                         bool residual = false) {
  if (p.depthwise) {
    std::vector<cuda::LaunchPlan> plans{plan_depthwise_forward(p.geo, p.batch * p.in_channels, element_bytes)};
    if (bias) plans.push_back(plan_add_bias(conv_bias_layout(p), element_bytes));
    if (residual)
      plans.push_back(plan_binary_forward(make_broadcast_plan(p.out_shape, p.out_shape, "conv2d"),
                                          shape_numel(p.out_shape), element_bytes));
    return plans;
  }
  ConvProducts c = conv_products(p, element_bytes, matmul_precision(), true, false);
  return {plan_tiled_gemm("conv_forward", c.forward, c.forward_tiles, c.bytes, element_bytes)};
}

// What conv2d_backward launches (without `input_grad`, dx null: no input gradient but in depthwise).
inline std::vector<cuda::LaunchPlan> plan_conv2d_backward(const ConvPlan& p, int64_t element_bytes, bool bias,
                                                          bool input_grad = true) {
  std::vector<cuda::LaunchPlan> plans;
  if (p.depthwise) {
    int64_t planes = p.batch * p.in_channels;
    plans.push_back(plan_depthwise_input_grad(p.geo, planes, element_bytes));
    plans.push_back(plan_depthwise_weight_grad(p.geo, planes, p.in_channels, element_bytes));
    if (bias) cuda::append(plans, plan_bias_grad(conv_bias_layout(p), element_bytes));
    return plans;
  }
  ConvProducts c = conv_products(p, element_bytes, matmul_precision(), true, bias);
  if (input_grad)
    plans.push_back(plan_tiled_gemm("conv_input_grad", c.input_grad, c.input_grad_tiles, c.bytes, element_bytes));
  plans.push_back(plan_tiled_gemm("conv_weight_grad", c.weight_grad, c.weight_grad_tiles, c.bytes, element_bytes));
  return plans;
}

}  // namespace dmdlk::cuda_ops
