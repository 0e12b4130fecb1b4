// The grouped GEMMs shared by every convolution written as columns + GEMM
// (conv2d, deform_conv2d). For one image, with G groups, columns
// [G][K, P] (K = Cin/G·kh·kw rows, P = Ho·Wo), weight [G][M, K] (M = Cout/G):
//   forward:  y[G][M, P]      = weight · columns
//   dweight:  dW[G][M, K]    += dy · columnsᵀ   (beta 0 for the first image, then 1)
//   dcolumns: dcol[G][K, P]   = weightᵀ · dy
// The *_gemm functions give the shapes; the CPU also runs the first two with
// the columns gathered from the image (cpu_ops::gemm_columns), its stride_b
// then being the image's channels of one group.
#pragma once
#include "ops/conv2d.h"
#include "ops/gemm.h"

namespace dmdlk {

struct ConvGemmShape {
  int64_t groups = 1, group_out = 0, group_rows = 0, cols = 0;  // G, M, K, P
};

inline GemmShape conv_forward_gemm(const ConvGemmShape& s) {
  GemmShape g;
  g.m = s.group_out, g.n = s.cols, g.k = s.group_rows, g.lda = s.group_rows, g.ldb = s.cols, g.ldc = s.cols;
  g.batch = s.groups, g.stride_a = s.group_out * s.group_rows, g.stride_b = s.group_rows * s.cols,
  g.stride_c = s.group_out * s.cols;
  return g;
}

inline GemmShape conv_weight_grad_gemm(const ConvGemmShape& s) {
  GemmShape g;
  g.m = s.group_out, g.n = s.group_rows, g.k = s.cols, g.trans_b = true, g.lda = s.cols, g.ldb = s.cols,
  g.ldc = s.group_rows;
  g.batch = s.groups, g.stride_a = s.group_out * s.cols, g.stride_b = s.group_rows * s.cols,
  g.stride_c = s.group_out * s.group_rows;
  return g;
}

// dcolumns[G][K, P] = weightᵀ · dy.
inline GemmShape conv_column_grad_gemm(const ConvGemmShape& s) {
  GemmShape g;
  g.m = s.group_rows, g.n = s.cols, g.k = s.group_out, g.trans_a = true, g.lda = s.group_rows, g.ldb = s.cols,
  g.ldc = s.cols;
  g.batch = s.groups, g.stride_a = s.group_out * s.group_rows, g.stride_b = s.group_out * s.cols,
  g.stride_c = s.group_rows * s.cols;
  return g;
}

// The grouped GEMMs of a convolution's plan.
inline ConvGemmShape conv_gemm_shape(const ConvPlan& p) {
  return {p.groups, p.out_channels / p.groups, p.geo.col_rows() / p.groups, p.geo.col_cols()};
}

}  // namespace dmdlk
