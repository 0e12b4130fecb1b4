// The AVX2/FMA float micro-kernel: up to 6 rows × 16 columns of C held in 12
// ymm accumulators, one broadcast of A per row and two loads of B per step,
// then added into C. A tile with fewer rows (the last of a product whose rows
// are not a multiple of 6, such as a 32-channel convolution's) runs a kernel
// of its own size rather than multiplying padding. Only called when
// cpu_features() reports AVX2 and FMA.
#include <immintrin.h>

#include "ops/gemm_kernels.h"

namespace dmdlk::gemm_detail {

namespace {

template <int Rows>
void run_rows(int64_t kc, const float* a, const float* b, int64_t b_step, float* c, int64_t ldc, float alpha,
              bool overwrite) {
  constexpr int MR = Avx2FloatKernel::MR;
  // Every loop over the rows is unrolled, so that acc lives in registers.
  __m256 acc[Rows][2];
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i) acc[i][0] = acc[i][1] = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p, a += MR, b += b_step) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < Rows; ++i) {
      __m256 x = _mm256_broadcast_ss(a + i);
      acc[i][0] = _mm256_fmadd_ps(x, b0, acc[i][0]);
      acc[i][1] = _mm256_fmadd_ps(x, b1, acc[i][1]);
    }
  }
  const __m256 scale = _mm256_set1_ps(alpha);
#pragma GCC unroll 6
  for (int i = 0; i < Rows; ++i, c += ldc) {
    __m256 old0 = overwrite ? _mm256_setzero_ps() : _mm256_loadu_ps(c);
    __m256 old1 = overwrite ? _mm256_setzero_ps() : _mm256_loadu_ps(c + 8);
    _mm256_storeu_ps(c, _mm256_fmadd_ps(scale, acc[i][0], old0));
    _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(scale, acc[i][1], old1));
  }
}

}  // namespace

void Avx2FloatKernel::run(int rows, int64_t kc, const float* a, const float* b, int64_t b_step, float* c, int64_t ldc,
                          float alpha, bool overwrite) {
  for_rows<6>(rows, [&](auto height) { run_rows<height()>(kc, a, b, b_step, c, ldc, alpha, overwrite); });
}

}  // namespace dmdlk::gemm_detail
