#include "core/cpu_features.h"

namespace dmdlk {

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = [] {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
#endif
    return f;
  }();
  return features;
}

const char* simd_level() {
  const CpuFeatures& f = cpu_features();
  return f.avx2 && f.fma ? "avx2" : "portable";
}

}  // namespace dmdlk
