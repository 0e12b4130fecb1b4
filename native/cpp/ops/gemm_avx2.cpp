// The AVX2/FMA float micro-kernel: 6 rows × 16 columns of C held in 12 ymm
// accumulators, one broadcast of A and two loads of B per step, then added
// into C. Only called when cpu_features() reports AVX2 and FMA.
#include <immintrin.h>

#include "ops/gemm_kernels.h"

namespace dmdlk::gemm_detail {

void Avx2FloatKernel::run(int64_t kc, const float* a, const float* b, int64_t b_step, float* c, int64_t ldc,
                          float alpha, bool overwrite) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
  __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
  __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
  __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
  __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
  __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (int64_t p = 0; p < kc; ++p, a += MR, b += b_step) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 x;
    x = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(x, b0, c00); c01 = _mm256_fmadd_ps(x, b1, c01);
    x = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(x, b0, c10); c11 = _mm256_fmadd_ps(x, b1, c11);
    x = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(x, b0, c20); c21 = _mm256_fmadd_ps(x, b1, c21);
    x = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(x, b0, c30); c31 = _mm256_fmadd_ps(x, b1, c31);
    x = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(x, b0, c40); c41 = _mm256_fmadd_ps(x, b1, c41);
    x = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(x, b0, c50); c51 = _mm256_fmadd_ps(x, b1, c51);
  }
  const __m256 scale = _mm256_set1_ps(alpha);
  __m256* rows[MR][2] = {{&c00, &c01}, {&c10, &c11}, {&c20, &c21}, {&c30, &c31}, {&c40, &c41}, {&c50, &c51}};
  for (int i = 0; i < MR; ++i, c += ldc) {
    __m256 old0 = overwrite ? _mm256_setzero_ps() : _mm256_loadu_ps(c);
    __m256 old1 = overwrite ? _mm256_setzero_ps() : _mm256_loadu_ps(c + 8);
    _mm256_storeu_ps(c, _mm256_fmadd_ps(scale, *rows[i][0], old0));
    _mm256_storeu_ps(c + 8, _mm256_fmadd_ps(scale, *rows[i][1], old1));
  }
}

}  // namespace dmdlk::gemm_detail
