// The CPU's vector extensions, detected at run time: one binary serves
// machines with and without AVX2, and picks its GEMM micro-kernel here.
#pragma once

namespace dmdlk {

struct CpuFeatures {
  bool avx2 = false;
  bool fma = false;
  bool avx512f = false;
};

const CpuFeatures& cpu_features();

// The vector level our kernels run at on this CPU: "avx2" (AVX2 + FMA) or
// "portable". AVX-512 is detected and reported, not yet used.
const char* simd_level();

}  // namespace dmdlk
