// General matrix multiply, the workhorse of linear, matmul and convolution:
//   C[b] = alpha · op(A[b]) · op(B[b]) + beta · C[b]   for b < batch,
// row-major, op(X) = Xᵀ when trans_x. Both backends implement this contract.
#pragma once
#include <cstdint>

namespace dmdlk {

struct ConvGeometry;

struct GemmShape {
  int64_t m = 0, n = 0, k = 0;  // op(A) is m×k, op(B) is k×n, C is m×n
  bool trans_a = false, trans_b = false;
  int64_t lda = 0, ldb = 0, ldc = 0;  // row pitch of A, B, C as stored
  int64_t batch = 1;
  int64_t stride_a = 0, stride_b = 0, stride_c = 0;  // elements between batch items (0: shared)
};

namespace cpu_ops {

// CPU: packed panels, an AVX2/FMA 6×16 micro-kernel for float where the CPU
// has it (chosen at run time), a portable one otherwise; tiles spread over
// the thread pool. beta == 0 overwrites C (NaNs in C do not leak through).
// The epilogue adds row_bias[b·m + i] to row i of C[b] where row_bias is
// given (a convolution's bias, while each strip of C is still in cache).
template <typename T>
void gemm(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c, const T* row_bias = nullptr);

// C = A·B + col_bias[j] in column j (a linear layer's y = x·Wᵀ + b), C
// dense (ldc = n, batch items m·n apart).
template <typename T>
void gemm_bias_columns(const GemmShape& s, const T* a, const T* b, const T* col_bias, T* c);

// gemm with B the im2col column matrix of one image x of a convolution
// (rows (c·kh + i)·kw + j, columns oy·Wo + ox; its transpose when s.trans_b),
// gathered from x while B is packed, so the column matrix is never stored.
// s.ldb is unused; s.stride_b is the distance between batch items of x.
template <typename T>
void gemm_columns(const GemmShape& s, T alpha, const T* a, const ConvGeometry& g, const T* x, T beta, T* c,
                  const T* row_bias = nullptr);

}  // namespace cpu_ops

}  // namespace dmdlk
