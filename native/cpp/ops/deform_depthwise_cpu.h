// DDLK's deformable convolution on the CPU, directly: depthwise, one offset
// group, no mask (docs/configuration.md, offsets). All channels share the sample points, so
// for each output row the k²·W points and their bilinear weights are computed
// once and applied to every channel, instead of deformable-im2col's C·k²·H·W
// samples followed by one-row GEMMs. Float images whose channels are a
// multiple of 8 run channels last with AVX2 where the CPU has it
// (deform_depthwise_rows.h); the rest, planar. Semantics are deform_conv2d.h's.
#pragma once
#include "ops/deform_conv2d.h"

namespace dmdlk {

namespace cpu_ops {
// A batch: x [N, C, H, W], offset [N, 2·k², Ho, Wo], weight [C, k²] -> y [N, C, Ho, Wo].
template <typename T>
void deform_depthwise_forward(const DeformGeometry& g, int64_t batch, const T* x, const T* offset, const T* weight,
                              T* y);
// dx and doffset written, dweight accumulated into.
template <typename T>
void deform_depthwise_backward(const DeformGeometry& g, int64_t batch, const T* x, const T* offset, const T* weight,
                               const T* dy, T* dx, T* doffset, T* dweight);
}  // namespace cpu_ops

}  // namespace dmdlk
