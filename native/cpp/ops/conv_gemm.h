// The grouped GEMMs shared by every convolution written as columns + GEMM
// (conv2d, deform_conv2d). For one image, with G groups, columns
// [G][K, P] (K = Cin/G·kh·kw rows, P = Ho·Wo), weight [G][M, K] (M = Cout/G):
//   forward:  y[G][M, P]      = weight · columns
//   dweight:  dW[G][M, K]    += dy · columnsᵀ   (beta 0 for the first image, then 1)
//   dcolumns: dcol[G][K, P]   = weightᵀ · dy
// The *_gemm functions give the shapes; the CPU also runs the first two with
// the columns gathered from the image (cpu_gemm_columns), its stride_b then
// being the image's channels of one group.
#pragma once
#include "ops/device_math.h"

namespace dmdlk {

struct ConvGemmShape {
  int64_t groups = 1, group_out = 0, group_rows = 0, cols = 0;  // G, M, K, P
};

inline GemmShape conv_forward_gemm(const ConvGemmShape& s) {
  GemmShape g;
  g.m = s.group_out, g.n = s.cols, g.k = s.group_rows, g.lda = s.group_rows, g.ldb = s.cols, g.ldc = s.cols;
  g.batch = s.groups, g.stride_a = s.group_out * s.group_rows, g.stride_b = s.group_rows * s.cols, g.stride_c = s.group_out * s.cols;
  return g;
}

inline GemmShape conv_weight_grad_gemm(const ConvGemmShape& s) {
  GemmShape g;
  g.m = s.group_out, g.n = s.group_rows, g.k = s.cols, g.trans_b = true, g.lda = s.cols, g.ldb = s.cols, g.ldc = s.group_rows;
  g.batch = s.groups, g.stride_a = s.group_out * s.cols, g.stride_b = s.group_rows * s.cols, g.stride_c = s.group_out * s.group_rows;
  return g;
}

template <typename T>
void conv_gemm_forward(Device d, const ConvGemmShape& s, const T* weight, const T* columns, T* y) {
  gemm<T>(d, conv_forward_gemm(s), 1, weight, columns, 0, y);
}

template <typename T>
void conv_gemm_weight_grad(Device d, const ConvGemmShape& s, const T* dy, const T* columns, bool accumulate, T* dweight) {
  gemm<T>(d, conv_weight_grad_gemm(s), 1, dy, columns, accumulate ? 1 : 0, dweight);
}

template <typename T>
void conv_gemm_column_grad(Device d, const ConvGemmShape& s, const T* weight, const T* dy, T* dcolumns) {
  GemmShape g;
  g.m = s.group_rows, g.n = s.cols, g.k = s.group_out, g.trans_a = true, g.lda = s.group_rows, g.ldb = s.cols, g.ldc = s.cols;
  g.batch = s.groups, g.stride_a = s.group_out * s.group_rows, g.stride_b = s.group_out * s.cols, g.stride_c = s.group_rows * s.cols;
  gemm<T>(d, g, 1, weight, dy, 0, dcolumns);
}

}  // namespace dmdlk
