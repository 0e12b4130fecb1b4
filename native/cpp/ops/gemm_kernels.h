// The register-blocked inner kernels of cpu_ops::gemm:
//   C[rows×NR] (+)= alpha · Σ_p a[p] ⊗ b[p]   over kc steps, rows ≤ MR,
// with C at row pitch ldc, overwritten when `overwrite` (the first depth
// panel of a beta = 0 product: C is then never read). Packed A holds MR values
// per step (the first `rows` are used); B holds NR per step, b_step apart (NR
// when packed, B's row pitch when read in place). Tiles of NR columns update C
// in place; cpu_ops::gemm routes narrower ones through a buffer.
#pragma once
#include <cstdint>
#include <type_traits>

namespace dmdlk::gemm_detail {

template <typename T, int MR_, int NR_>
struct PortableKernel {
  static constexpr int MR = MR_, NR = NR_;
  static void run(int rows, int64_t kc, const T* a, const T* b, int64_t b_step, T* c, int64_t ldc, T alpha,
                  bool overwrite) {
    T sum[MR][NR] = {};
    for (int64_t p = 0; p < kc; ++p, a += MR, b += b_step)
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) sum[i][j] += a[i] * b[j];
    for (int i = 0; i < rows; ++i)
      for (int j = 0; j < NR; ++j) c[i * ldc + j] = alpha * sum[i][j] + (overwrite ? T(0) : c[i * ldc + j]);
  }
};

// Calls run(std::integral_constant<int, R>{}) for R = rows, 1 ≤ rows ≤ Max:
// the SIMD kernels are instantiated per tile height, so that every loop over
// the rows unrolls and the accumulators stay in registers.
template <int Max, class Run>
void for_rows(int rows, Run run) {
  if constexpr (Max > 1)
    if (rows < Max) return for_rows<Max - 1>(rows, run);
  run(std::integral_constant<int, Max>{});
}

// Defined in gemm_avx2.cpp, which alone is compiled with -mavx2 -mfma.
struct Avx2FloatKernel {
  static constexpr int MR = 6, NR = 16;
  static void run(int rows, int64_t kc, const float* a, const float* b, int64_t b_step, float* c, int64_t ldc,
                  float alpha, bool overwrite);
};

// Defined in gemm_neon.cpp, built for arm64 only.
struct NeonFloatKernel {
  static constexpr int MR = 8, NR = 8;
  static void run(int rows, int64_t kc, const float* a, const float* b, int64_t b_step, float* c, int64_t ldc,
                  float alpha, bool overwrite);
};

}  // namespace dmdlk::gemm_detail
