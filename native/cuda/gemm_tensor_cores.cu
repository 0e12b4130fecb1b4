// Float32 GEMM on tensor cores: inputs rounded to TF32 (precision "high") or
// BF16 ("medium"), products accumulated in float32. gemm.cu's kernel stays
// the reference ("highest") and the path for float64 and older GPUs.
//
// A block computes a 64×64 tile of C with 4 warps, each a 32×32 quarter held
// as 2×2 WMMA accumulators of 16×16. Each 16-deep slice of A and B is staged
// in shared memory already rounded to the input type, so bounds, transposes
// and rounding are handled once, by plain loads; the accumulators go back
// through shared memory so that alpha, beta and the edges of C are applied by
// plain stores (beta == 0 overwrites: NaN in C never leaks through).
#include <cuda_bf16.h>
#include <mma.h>

#include "cuda/gemm.cuh"
#include "cuda_check.cuh"

namespace dmdlk::cuda_ops {

namespace {

constexpr int kTile = int(kGemmTile), kDepth = int(kGemmDepth), kThreads = int(kGemmTensorCoreThreads);
static_assert(kDepth % 16 == 0, "a staged slice must hold whole WMMA steps of both input types (8 and 16 deep)");

// Which tensor-core input type a kernel uses (the traits below are device-only:
// WMMA's TF32 and BF16 fragments exist from compute capability 8.0).
struct Tf32 {};
struct Bf16 {};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
using namespace nvcuda;

template <typename Input>
struct InputTraits;
template <>
struct InputTraits<Tf32> {
  using Stored = float;  // the element type in shared memory
  using Precision = wmma::precision::tf32;
  static constexpr int kStep = 8;  // WMMA depth
  __device__ static float round(float v) { return wmma::__float_to_tf32(v); }
};
template <>
struct InputTraits<Bf16> {
  using Stored = __nv_bfloat16;
  using Precision = __nv_bfloat16;
  static constexpr int kStep = 16;
  __device__ static __nv_bfloat16 round(float v) { return __float2bfloat16_rn(v); }
};
#endif

template <typename Input>
__global__ void __launch_bounds__(kThreads)
    gemm_tensor_core_kernel(GemmShape s, float alpha, const float* __restrict__ a, const float* __restrict__ b,
                            float beta, float* __restrict__ c) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using Traits = InputTraits<Input>;
  using Stored = typename Traits::Stored;
  // Row pitches padded by 16 bytes: WMMA wants pitches of whole 16-byte units
  // and 32-byte-aligned fragment starts, and the padding spreads the rows
  // over the shared-memory banks.
  constexpr int kPad = 16 / int(sizeof(Stored)), kLdA = kDepth + kPad, kLdB = kTile + kPad, kLdC = kTile + 4;
  __shared__ __align__(128) Stored as[kTile][kLdA];   // A's slice, m × k
  __shared__ __align__(128) Stored bs[kDepth][kLdB];  // B's slice, k × n
  __shared__ __align__(128) float cs[kTile][kLdC];    // the finished tile of C

  const int64_t batch = blockIdx.z;
  a += batch * s.stride_a;
  b += batch * s.stride_b;
  c += batch * s.stride_c;
  const int64_t row0 = int64_t(blockIdx.y) * kTile, col0 = int64_t(blockIdx.x) * kTile;
  const int warp = threadIdx.x / 32, warp_row = warp / 2 * 32, warp_col = warp % 2 * 32;

  wmma::fragment<wmma::accumulator, 16, 16, Traits::kStep, float> acc[2][2];
  for (auto& row : acc)
    for (auto& f : row) wmma::fill_fragment(f, 0.0f);

  for (int64_t p0 = 0; p0 < s.k; p0 += kDepth) {
    // Neighbouring threads read neighbouring addresses of A and B as stored.
    for (int e = threadIdx.x; e < kTile * kDepth; e += kThreads) {
      int i = s.trans_a ? e % kTile : e / kDepth, p = s.trans_a ? e / kTile : e % kDepth;
      int64_t row = row0 + i, depth = p0 + p;
      float v = 0;
      if (row < s.m && depth < s.k) v = s.trans_a ? a[depth * s.lda + row] : a[row * s.lda + depth];
      as[i][p] = Traits::round(v);
    }
    for (int e = threadIdx.x; e < kTile * kDepth; e += kThreads) {
      int j = s.trans_b ? e / kDepth : e % kTile, p = s.trans_b ? e % kDepth : e / kTile;
      int64_t col = col0 + j, depth = p0 + p;
      float v = 0;
      if (col < s.n && depth < s.k) v = s.trans_b ? b[col * s.ldb + depth] : b[depth * s.ldb + col];
      bs[p][j] = Traits::round(v);
    }
    __syncthreads();
#pragma unroll
    for (int kk = 0; kk < kDepth; kk += Traits::kStep) {
      wmma::fragment<wmma::matrix_a, 16, 16, Traits::kStep, typename Traits::Precision, wmma::row_major> fa[2];
      wmma::fragment<wmma::matrix_b, 16, 16, Traits::kStep, typename Traits::Precision, wmma::row_major> fb[2];
#pragma unroll
      for (int i = 0; i < 2; ++i) wmma::load_matrix_sync(fa[i], &as[warp_row + 16 * i][kk], kLdA);
#pragma unroll
      for (int j = 0; j < 2; ++j) wmma::load_matrix_sync(fb[j], &bs[kk][warp_col + 16 * j], kLdB);
#pragma unroll
      for (int i = 0; i < 2; ++i)
#pragma unroll
        for (int j = 0; j < 2; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
    __syncthreads();
  }

#pragma unroll
  for (int i = 0; i < 2; ++i)
#pragma unroll
    for (int j = 0; j < 2; ++j)
      wmma::store_matrix_sync(&cs[warp_row + 16 * i][warp_col + 16 * j], acc[i][j], kLdC, wmma::mem_row_major);
  __syncthreads();
  for (int e = threadIdx.x; e < kTile * kTile; e += kThreads) {
    int i = e / kTile, j = e % kTile;
    int64_t row = row0 + i, col = col0 + j;
    if (row >= s.m || col >= s.n) continue;
    float* out = c + row * s.ldc + col;
    *out = alpha * cs[i][j] + (beta == 0.0f ? 0.0f : beta * *out);
  }
#endif
}

}  // namespace

void gemm_tensor_cores(int device, MatmulPrecision precision, const GemmShape& s, float alpha, const float* a,
                       const float* b, float beta, float* c) {
  LaunchPlan plan = plan_gemm_tensor_cores(s, precision, beta != 0.0f);
  if (precision == MatmulPrecision::Medium)
    launch(device, plan, gemm_tensor_core_kernel<Bf16>, s, alpha, a, b, beta, c);
  else launch(device, plan, gemm_tensor_core_kernel<Tf32>, s, alpha, a, b, beta, c);
}

}  // namespace dmdlk::cuda_ops
