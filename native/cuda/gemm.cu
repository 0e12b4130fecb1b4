// Batched GEMM: 64×64 tiles of C per block, 16-deep slices of A and B staged
// through shared memory, each of 256 threads accumulating a 4×4 patch. The
// portable kernel for every architecture and the full-precision reference;
// float products go to the tensor cores (gemm_tensor_cores.cu) unless the
// matmul precision is "highest" or the GPU predates them.
#include <type_traits>

#include "cuda/gemm.cuh"
#include "cuda_check.cuh"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

constexpr int kTile = int(kGemmTile), kDepth = int(kGemmDepth), kThreads = int(kGemmThreads);

template <typename T>
__global__ void gemm_kernel(GemmShape s, T alpha, const T* __restrict__ a, const T* __restrict__ b, T beta,
                            T* __restrict__ c) {
  __shared__ T as[kDepth][kTile + 1];
  __shared__ T bs[kDepth][kTile + 1];
  const int64_t batch = blockIdx.z;
  a += batch * s.stride_a;
  b += batch * s.stride_b;
  c += batch * s.stride_c;
  const int64_t row0 = int64_t(blockIdx.y) * kTile, col0 = int64_t(blockIdx.x) * kTile;
  const int tr = threadIdx.x / 16, tc = threadIdx.x % 16;  // this thread's 4×4 patch
  T acc[4][4] = {};
  for (int64_t p0 = 0; p0 < s.k; p0 += kDepth) {
    // Each thread stages 4 elements of the A slice and 4 of the B slice.
    for (int e = threadIdx.x; e < kDepth * kTile; e += kThreads) {
      int p = e / kTile, i = e % kTile;
      int64_t row = row0 + i, col = col0 + i, depth = p0 + p;
      T av = 0, bv = 0;
      if (row < s.m && depth < s.k) av = s.trans_a ? a[depth * s.lda + row] : a[row * s.lda + depth];
      if (col < s.n && depth < s.k) bv = s.trans_b ? b[col * s.ldb + depth] : b[depth * s.ldb + col];
      as[p][i] = av;
      bs[p][i] = bv;
    }
    __syncthreads();
#pragma unroll
    for (int p = 0; p < kDepth; ++p) {
      T ar[4], br[4];
#pragma unroll
      for (int i = 0; i < 4; ++i) ar[i] = as[p][tr * 4 + i];
#pragma unroll
      for (int j = 0; j < 4; ++j) br[j] = bs[p][tc * 4 + j];
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 4; ++j) acc[i][j] += ar[i] * br[j];
    }
    __syncthreads();
  }
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    int64_t row = row0 + tr * 4 + i;
    if (row >= s.m) continue;
#pragma unroll
    for (int j = 0; j < 4; ++j) {
      int64_t col = col0 + tc * 4 + j;
      if (col >= s.n) continue;
      T* out = c + row * s.ldc + col;
      // beta == 0 overwrites, so garbage (even NaN) in C never leaks through.
      *out = alpha * acc[i][j] + (beta == T(0) ? T(0) : beta * *out);
    }
  }
}

// TF32 and BF16 tensor-core inputs need compute capability 8.0 (Ampere).
bool has_tensor_cores(int device) {
  cuda::require_device(device);
  for (const cuda::GpuInfo& gpu : cuda::availability().devices)
    if (gpu.index == device) return gpu.major >= 8;
  return false;
}

}  // namespace

template <typename T>
void gemm(int device, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  if (s.m == 0 || s.n == 0 || s.batch == 0) return;
  DMDLK_CHECK(s.batch <= 65535, ErrorCode::InvalidArg, "gemm: batch of ", s.batch, " exceeds the CUDA grid");
  if constexpr (std::is_same_v<T, float>) {
    MatmulPrecision precision = matmul_precision();
    if (precision != MatmulPrecision::Highest && has_tensor_cores(device))
      return gemm_tensor_cores(device, precision, s, alpha, a, b, beta, c);
  }
  launch(device, plan_gemm_simt(s, sizeof(T), beta != T(0)), gemm_kernel<T>, s, alpha, a, b, beta, c);
}

#define INSTANTIATE(T) template void gemm<T>(int, const GemmShape&, T, const T*, const T*, T, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
