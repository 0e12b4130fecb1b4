// The register-blocked inner kernels of cpu_gemm: acc[MR×NR] = Σ_p a[p]·b[p]
// over kc packed steps. Packed A holds MR values per step, packed B NR.
#pragma once
#include <cstdint>

namespace dmdlk::gemm_detail {

template <typename T, int MR_, int NR_>
struct PortableKernel {
  static constexpr int MR = MR_, NR = NR_;
  static void run(int64_t kc, const T* a, const T* b, T* acc) {
    T sum[MR][NR] = {};
    for (int64_t p = 0; p < kc; ++p, a += MR, b += NR)
      for (int i = 0; i < MR; ++i)
        for (int j = 0; j < NR; ++j) sum[i][j] += a[i] * b[j];
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i * NR + j] = sum[i][j];
  }
};

// Defined in gemm_avx2.cpp, which alone is compiled with -mavx2 -mfma.
struct Avx2FloatKernel {
  static constexpr int MR = 6, NR = 16;
  static void run(int64_t kc, const float* a, const float* b, float* acc);
};

}  // namespace dmdlk::gemm_detail
