// CUDA's convolution (conv2d.cu: im2col + grouped GEMM per image, direct
// kernels for depthwise; im2col.cu; depthwise_conv2d.cu) and its launch
// plans, step by step as conv2d.cu makes them.
#pragma once
#include <cstdint>
#include <vector>

#include "cuda/bias.cuh"
#include "cuda/gemm.cuh"
#include "cuda/launch_plan.h"
#include "ops/conv2d.h"
#include "ops/conv_gemm.h"

namespace dmdlk::cuda_ops {

// bias / db may be null. Every gradient is written whole.
template <typename T>
void conv2d_forward(int device, const ConvPlan& p, const T* x, const T* w, const T* bias, T* y);
template <typename T>
void conv2d_backward(int device, const ConvPlan& p, const T* dy, const T* x, const T* w, T* dx, T* dw, T* db);

template <typename T>
void im2col(int device, const ConvGeometry& g, const T* x, T* col);
template <typename T>
void col2im(int device, const ConvGeometry& g, const T* dcol, T* dx);
template <typename T>
void depthwise_forward(int device, const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w,
                       T* y);
template <typename T>
void depthwise_backward(int device, const ConvGeometry& g, int64_t planes, int64_t channels, const T* x, const T* w,
                        const T* dy, T* dx, T* dw);

constexpr int64_t kDepthwiseWeightGradThreads = 256;

// One thread per element of the column matrix (resp. of the image, gathering its taps).
inline cuda::LaunchPlan plan_im2col(const ConvGeometry& g, int64_t element_bytes) {
  int64_t n = g.col_rows() * g.col_cols();
  return cuda::elementwise_plan("im2col", n, double(n + g.channels * g.height * g.width) * element_bytes);
}
inline cuda::LaunchPlan plan_col2im(const ConvGeometry& g, int64_t element_bytes) {
  int64_t n = g.channels * g.height * g.width;
  cuda::LaunchPlan p = cuda::elementwise_plan("col2im", n, double(n + g.col_rows() * g.col_cols()) * element_bytes,
                                              double(n) * g.kernel_h * g.kernel_w);
  p.serial_reduction = g.kernel_h * g.kernel_w;
  return p;
}

// Depthwise: one thread per output (resp. input) element over its taps; the
// weight gradient one block per (channel, tap), reducing over the batch.
inline cuda::LaunchPlan plan_depthwise_forward(const ConvGeometry& g, int64_t planes, int64_t element_bytes) {
  int64_t n = planes * g.out_h * g.out_w, taps = g.kernel_h * g.kernel_w;
  cuda::LaunchPlan p = cuda::elementwise_plan("depthwise_forward", n,
                                              double(n + planes * g.height * g.width) * element_bytes, 2.0 * n * taps);
  p.serial_reduction = taps;
  p.access = cuda::MemoryAccess::Gather;
  return p;
}
inline cuda::LaunchPlan plan_depthwise_input_grad(const ConvGeometry& g, int64_t planes, int64_t element_bytes) {
  int64_t n = planes * g.height * g.width, taps = g.kernel_h * g.kernel_w;
  cuda::LaunchPlan p = cuda::elementwise_plan("depthwise_input_grad", n,
                                              double(n + planes * g.out_h * g.out_w) * element_bytes, 2.0 * n * taps);
  p.serial_reduction = taps;
  p.access = cuda::MemoryAccess::Gather;
  return p;
}
inline cuda::LaunchPlan plan_depthwise_weight_grad(const ConvGeometry& g, int64_t planes, int64_t channels,
                                                   int64_t element_bytes) {
  int64_t taps = g.kernel_h * g.kernel_w, outputs = (planes / channels) * g.out_h * g.out_w;
  cuda::LaunchPlan p;
  p.kernel = "depthwise_weight_grad";
  p.grid.x = channels * taps;
  p.block.x = kDepthwiseWeightGradThreads;
  p.shared_bytes = 1024 * 8;
  p.bytes = double(planes) * (g.height * g.width + g.out_h * g.out_w) * element_bytes;
  p.flops = 2.0 * channels * taps * outputs;
  p.serial_reduction = cuda::blocks_to_cover(outputs, kDepthwiseWeightGradThreads);
  p.access = cuda::MemoryAccess::Gather;
  return p;
}

inline ChannelLayout conv_bias_layout(const ConvPlan& p) { return {p.batch, p.out_channels, p.geo.col_cols()}; }

// What conv2d_forward launches.
inline std::vector<cuda::LaunchPlan> plan_conv2d_forward(const ConvPlan& p, int64_t element_bytes, bool bias) {
  std::vector<cuda::LaunchPlan> plans;
  if (p.depthwise) {
    plans.push_back(plan_depthwise_forward(p.geo, p.batch * p.in_channels, element_bytes));
  } else {
    ConvGemmShape s = conv_gemm_shape(p);
    for (int64_t n = 0; n < p.batch; ++n) {
      if (!p.direct_columns) plans.push_back(plan_im2col(p.geo, element_bytes));
      plans.push_back(plan_device_gemm(conv_forward_gemm(s), element_bytes, false));
    }
  }
  if (bias) plans.push_back(plan_add_bias(conv_bias_layout(p), element_bytes));
  return plans;
}

// What conv2d_backward launches.
inline std::vector<cuda::LaunchPlan> plan_conv2d_backward(const ConvPlan& p, int64_t element_bytes, bool bias) {
  std::vector<cuda::LaunchPlan> plans;
  if (p.depthwise) {
    int64_t planes = p.batch * p.in_channels;
    plans.push_back(plan_depthwise_input_grad(p.geo, planes, element_bytes));
    plans.push_back(plan_depthwise_weight_grad(p.geo, planes, p.in_channels, element_bytes));
  } else {
    ConvGemmShape s = conv_gemm_shape(p);
    for (int64_t n = 0; n < p.batch; ++n) {
      if (!p.direct_columns) plans.push_back(plan_im2col(p.geo, element_bytes));
      plans.push_back(plan_device_gemm(conv_weight_grad_gemm(s), element_bytes, n > 0));
      plans.push_back(plan_device_gemm(conv_column_grad_gemm(s), element_bytes, false));
      if (!p.direct_columns) plans.push_back(plan_col2im(p.geo, element_bytes));
    }
  }
  if (bias) plans.push_back(plan_bias_grad(conv_bias_layout(p), element_bytes));
  return plans;
}

}  // namespace dmdlk::cuda_ops
