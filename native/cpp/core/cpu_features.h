// The CPU's vector extensions, detected at run time: one binary serves
// machines with and without AVX2, and picks its GEMM micro-kernel here.
#pragma once

namespace dmdlk {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
  bool neon = false;  // arm64's AdvSIMD: in every AArch64 CPU
};

// What the CPU supports, capped by DMDLK_SIMD=portable (no vector extension
// used) or DMDLK_SIMD=avx2 (no AVX-512) when set: to compare kernels, or to
// test the narrower ones on a wider CPU. AVX-512 is used by the activations
// only (1.35x their AVX2 speed); an AVX-512 GEMM kernel measured no faster than
// the AVX2 one here.
const CpuFeatures& cpu_features();

// The vector level of the GEMM and convolution kernels: "avx2" (AVX2 + FMA),
// "neon" (arm64) or "portable".
const char* simd_level();

// For tests: from now on, run the "portable" kernels, the "avx2" ones (no
// AVX-512), or the widest the CPU has ("avx512", or "neon" on arm64);
// returns false for an unknown name.
bool cap_simd_level(const char* level);

}  // namespace dmdlk
