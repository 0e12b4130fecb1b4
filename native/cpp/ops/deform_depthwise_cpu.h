// DDLK's deformable convolution on the CPU, directly: depthwise, one offset
// group, no mask (architecture.md). All channels share the sample points, so
// for each output row the k²·W points and their bilinear weights are computed
// once and applied to every channel, instead of deformable-im2col's C·k²·H·W
// samples followed by one-row GEMMs. Float images whose channels are a
// multiple of 8 run channels last with AVX2 where the CPU has it
// (deform_depthwise_rows.h); the rest, planar. Semantics are deform_conv2d.h's.
#pragma once
#include "ops/deform_conv2d.h"

namespace dmdlk {

// A batch: x [N, C, H, W], offset [N, 2·k², Ho, Wo], weight [C, k²] -> y [N, C, Ho, Wo].
// scratch holds deform_depthwise_forward_scratch<T>(g, N) values.
template <typename T>
void cpu_deform_depthwise_forward(const DeformGeometry& g, int64_t batch, const T* x, const T* offset, const T* weight,
                                  T* y, T* scratch);
// dx and doffset written, dweight accumulated into; scratch holds
// deform_depthwise_backward_scratch<T>(g, N) values.
template <typename T>
void cpu_deform_depthwise_backward(const DeformGeometry& g, int64_t batch, const T* x, const T* offset, const T* weight,
                                   const T* dy, T* dx, T* doffset, T* dweight, T* scratch);

template <typename T>
int64_t deform_depthwise_forward_scratch(const DeformGeometry& g, int64_t batch);
template <typename T>
int64_t deform_depthwise_backward_scratch(const DeformGeometry& g, int64_t batch);

}  // namespace dmdlk
