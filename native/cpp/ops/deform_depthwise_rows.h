// The AVX2 row kernels of DDLK's deformable convolution on the CPU, over
// channels-last images (deform_depthwise_avx2.cpp, the only file compiled
// with -mavx2 -mfma for them; called when the CPU has AVX2 and FMA and the
// channels are a multiple of 8).
//
// Channels last, the C channels of one image pixel are contiguous, so each
// corner of a sample point (shared by all channels) is read as C/8 vectors,
// and dx is scattered as vectors too, where the planar kernels do one scalar
// gather and scatter per channel.
#pragma once
#include <cstdint>

#include "ops/deform_sample.h"

namespace dmdlk {

namespace deform_avx2 {

// One output row of width pixels, taps samples each (samples[t·width + ox]);
// xt: the image, channels last [H·W, C]; wt: weights as [taps, C].
//   y_row[ox·C + c] = Σ_t wt[t, c] · Σ_k value_k · xt[index_k, c]
void forward_row(int64_t channels, int64_t width, int64_t taps, const DeformSample<float>* samples, const float* xt,
                 const float* wt, float* y_row);

// The gradients of one output row, dy_row [width, C] channels last:
//   dw[t, c]             += Σ_ox dy · value            (dw as [taps, C])
//   dxt[index_k, c]      += value_k · dy · wt[t, c]    (dxt channels last)
//   doffset[2t · plane + ox], doffset[(2t + 1) · plane + ox]  (written: the row's ∂y and ∂x of tap t)
void backward_row(int64_t channels, int64_t width, int64_t taps, const DeformSample<float>* samples, const float* xt,
                  const float* dy_row, const float* wt, float* dw, float* dxt, float* doffset, int64_t plane);

}  // namespace deform_avx2
}  // namespace dmdlk
