// The unfolding of convolution windows into columns (im2col) and its adjoint
// (col2im), row-wise loops on the CPU (conv2d.cpp). The column of row
// (c·kh + i)·kw + j and column oy·out_w + ox holds x[c, oy·stride − pad +
// i·dilation, ox·stride − pad + j·dilation], 0 in the padding. CUDA gathers
// the same values straight from the image (gpu/gemm_operands.h), checked
// against these in test_gemm_operands.
#pragma once
#include <cstdint>

#include "ops/conv_geometry.h"

namespace dmdlk {

namespace cpu_ops {
// The column matrix of one image, and its adjoint (row-wise loops over the
// same layout), which overwrites dx or, with `accumulate`, adds into it.
template <typename T>
void im2col(const ConvGeometry& g, const T* x, T* col);
template <typename T>
void col2im(const ConvGeometry& g, const T* dcol, T* dx, bool accumulate = false);
}  // namespace cpu_ops

}  // namespace dmdlk
