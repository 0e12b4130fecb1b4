// DDLK's deformable convolution on the CPU, directly: depthwise, one offset
// group, no mask (architecture.md). All channels share the sample points, so
// for each output row the k²·W points and their bilinear weights are computed
// once and applied to every channel, instead of deformable-im2col's C·k²·H·W
// samples followed by one-row GEMMs. Semantics are deform_conv2d.h's exactly.
#pragma once
#include "ops/deform_conv2d.h"

namespace dmdlk {

// One image: x [C, H, W], offset [2·k², Ho, Wo], weight [C, k²] -> y [C, Ho, Wo].
template <typename T>
void cpu_deform_depthwise_forward(const DeformGeometry& g, const T* x, const T* offset, const T* weight, T* y);
// A batch: dx and doffset written, dweight accumulated into; scratch holds
// deform_depthwise_backward_scratch(g, batch) values.
template <typename T>
void cpu_deform_depthwise_backward(const DeformGeometry& g, int64_t batch, const T* x, const T* offset, const T* weight,
                                   const T* dy, T* dx, T* doffset, T* dweight, T* scratch);
int64_t deform_depthwise_backward_scratch(const DeformGeometry& g, int64_t batch);

}  // namespace dmdlk
