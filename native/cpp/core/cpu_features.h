// The CPU's vector extensions, detected at run time: one binary serves
// machines with and without AVX2, and picks its GEMM micro-kernel here.
#pragma once

namespace dmdlk {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
};

// What the CPU supports, capped by DMDLK_SIMD=portable when set (to compare
// kernels, or to test the portable ones on an AVX2 CPU). AVX-512 is reported,
// not used: an AVX-512 GEMM kernel measured no faster than the AVX2 one here.
const CpuFeatures& cpu_features();

// The vector level our kernels run at: "avx2" (AVX2 + FMA) or "portable".
const char* simd_level();

// For tests: from now on, run the "portable" kernels (or "avx2" ones, if the
// CPU has them); returns false for an unknown name.
bool cap_simd_level(const char* level);

}  // namespace dmdlk
