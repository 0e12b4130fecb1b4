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

// "avx512", "avx2", or "none": the widest level our kernels use.
const char* simd_level();

}  // namespace dmdlk
