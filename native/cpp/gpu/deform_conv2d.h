// CUDA's deformable convolution (deform_conv2d.cu: deformable im2col + grouped
// GEMM per image; DDLK's depthwise form directly: gpu/deform_depthwise.h) and
// its launch plans, step by step as deform_conv2d.cu makes them.
#pragma once
#include <cstdint>
#include <vector>

#include "gpu/bias.h"
#include "gpu/deform_depthwise.h"
#include "gpu/gemm.h"
#include "gpu/launch_plan.h"
#include "ops/conv_gemm.h"
#include "ops/deform_conv2d.h"

namespace dmdlk::cuda_ops {

// mask / bias / dmask / db may be null. dx, doffset, dweight (and dmask, db)
// arrive zeroed: the kernels accumulate into them.
template <typename T>
void deform_conv2d_forward(int device, const DeformPlan& p, const T* x, const T* offset, const T* w, const T* mask,
                           const T* bias, T* y);
template <typename T>
void deform_conv2d_backward(int device, const DeformPlan& p, const T* dy, const T* x, const T* offset, const T* w,
                            const T* mask, T* dx, T* doffset, T* dw, T* dmask, T* db);

template <typename T>
void deform_im2col(int device, const DeformGeometry& g, const T* x, const T* offset, const T* mask, T* col);
template <typename T>
void deform_col2im(int device, const DeformGeometry& g, const T* x, const T* offset, const T* mask, const T* dcol,
                   T* dx, T* doffset, T* dmask);
// One thread per column element (a bilinear sample), per image.
inline cuda::LaunchPlan plan_deform_im2col(const DeformGeometry& g, int64_t element_bytes) {
  int64_t n = g.col_rows() * g.pixels();
  cuda::LaunchPlan p = cuda::elementwise_plan("deform_im2col", n, double(n) * element_bytes * 2, 12.0 * n);
  p.access = cuda::MemoryAccess::Gather;
  return p;
}
// dx by atomic scatter, one thread per column element; doffset one thread per
// (offset group, tap, pixel) over the group's channels.
inline std::vector<cuda::LaunchPlan> plan_deform_col2im(const DeformGeometry& g, int64_t element_bytes) {
  int64_t n = g.col_rows() * g.pixels(), offsets = g.offset_groups * g.taps() * g.pixels();
  cuda::LaunchPlan offset_grad =
      cuda::elementwise_plan("deform_offset_grad", offsets, double(n) * element_bytes * 2, 20.0 * n);
  offset_grad.serial_reduction = g.channels / g.offset_groups;
  offset_grad.access = cuda::MemoryAccess::Gather;
  cuda::LaunchPlan scatter = cuda::elementwise_plan("deform_scatter_dx", n, double(n) * element_bytes * 3, 12.0 * n);
  scatter.access = cuda::MemoryAccess::Gather;
  return {scatter, offset_grad};
}

inline ChannelLayout deform_bias_layout(const DeformPlan& p) { return {p.batch, p.out_channels, p.geo.pixels()}; }
inline ConvGemmShape deform_gemm_shape(const DeformPlan& p) {
  return {p.groups, p.out_channels / p.groups, p.geo.col_rows() / p.groups, p.geo.pixels()};
}

// What deform_conv2d_forward launches.
inline std::vector<cuda::LaunchPlan> plan_deform_conv2d_forward(const DeformPlan& p, int64_t element_bytes, bool bias) {
  std::vector<cuda::LaunchPlan> plans;
  if (p.ddlk_form()) {
    plans.push_back(plan_deform_depthwise_forward(p.geo, p.batch, element_bytes));
  } else {
    for (int64_t n = 0; n < p.batch; ++n) {
      plans.push_back(plan_deform_im2col(p.geo, element_bytes));
      cuda::append(plans, plan_device_gemm(conv_forward_gemm(deform_gemm_shape(p)), element_bytes, false));
    }
  }
  if (bias) plans.push_back(plan_add_bias(deform_bias_layout(p), element_bytes));
  return plans;
}

// What deform_conv2d_backward launches (after its gradients are zeroed).
inline std::vector<cuda::LaunchPlan> plan_deform_conv2d_backward(const DeformPlan& p, int64_t element_bytes,
                                                                 bool bias) {
  std::vector<cuda::LaunchPlan> plans;
  if (p.ddlk_form()) {
    plans.push_back(plan_deform_depthwise_backward(p.geo, p.batch, element_bytes));
  } else {
    ConvGemmShape s = deform_gemm_shape(p);
    for (int64_t n = 0; n < p.batch; ++n) {
      plans.push_back(plan_deform_im2col(p.geo, element_bytes));
      cuda::append(plans, plan_device_gemm(conv_weight_grad_gemm(s), element_bytes, n > 0));
      cuda::append(plans, plan_device_gemm(conv_column_grad_gemm(s), element_bytes, false));
      for (const cuda::LaunchPlan& c : plan_deform_col2im(p.geo, element_bytes)) plans.push_back(c);
    }
  }
  if (bias) cuda::append(plans, plan_bias_grad(deform_bias_layout(p), element_bytes));
  return plans;
}

}  // namespace dmdlk::cuda_ops
