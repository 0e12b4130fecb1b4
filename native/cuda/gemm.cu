// Dense products (ops/gemm.h's contract) through the tiled kernels of
// tiled_gemm.cuh: A and B read as stored (transposed or not, batch items
// stride_* apart), C = alpha · A·B + beta · C. The one place the dense
// kernels are built: attention's dense products come here too.
#include <type_traits>

#include "cuda/tiled_gemm.cuh"
#include "gpu/gemm.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

template <typename T>
void dense_product(int device, const std::string& what, const GemmDims& d, const GemmTiling& t, double bytes,
                   const DenseA<T>& a, const DenseB<T>& b, const DenseStore<T>& out) {
  tiled_product<T>(device, what, d, t, bytes, a, b, out);
}

template <typename T>
void gemm(int device, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  if (s.m == 0 || s.n == 0 || s.batch == 0) return;
  bool tensor_cores = std::is_same_v<T, float> && tiled::has_tensor_cores(device);
  GemmTiling t = dense_gemm_tiling(s, sizeof(T), matmul_precision(), tensor_cores);
  DenseA<T> op_a{{a, s.lda, s.trans_a, BatchOffset::strided(s.stride_a)}};
  DenseB<T> op_b{{b, s.ldb, s.trans_b, BatchOffset::strided(s.stride_b)}};
  DenseStore<T> out{c, s.ldc, BatchOffset::strided(s.stride_c), alpha, beta};
  dense_product<T>(device, "gemm", gemm_dims(s.m, s.n, s.k, s.batch, t), t,
                   dense_gemm_bytes(s, sizeof(T), beta != T(0)), op_a, op_b, out);
}

template <typename T>
void gemm_bias_columns(int device, const GemmShape& s, const T* a, const T* b, const T* col_bias, T* c) {
  if (s.m == 0 || s.n == 0 || s.batch == 0) return;
  bool tensor_cores = std::is_same_v<T, float> && tiled::has_tensor_cores(device);
  GemmTiling t = dense_gemm_tiling(s, sizeof(T), matmul_precision(), tensor_cores);
  DenseA<T> op_a{{a, s.lda, s.trans_a, BatchOffset::strided(s.stride_a)}};
  DenseB<T> op_b{{b, s.ldb, s.trans_b, BatchOffset::strided(s.stride_b)}};
  DenseStore<T> out{c, s.ldc, BatchOffset::strided(s.stride_c), T(1), T(0), col_bias};
  dense_product<T>(device, "gemm", gemm_dims(s.m, s.n, s.k, s.batch, t), t, dense_gemm_bytes(s, sizeof(T), false), op_a,
                   op_b, out);
}

#define INSTANTIATE(T)                                                                                \
  template void dense_product<T>(int, const std::string&, const GemmDims&, const GemmTiling&, double, \
                                 const DenseA<T>&, const DenseB<T>&, const DenseStore<T>&);           \
  template void gemm<T>(int, const GemmShape&, T, const T*, const T*, T, T*);                         \
  template void gemm_bias_columns<T>(int, const GemmShape&, const T*, const T*, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
