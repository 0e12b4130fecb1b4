#include "core/cpu_features.h"

#include <cstdlib>
#include <cstring>

namespace dmdlk {

namespace {

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  f.avx2 = __builtin_cpu_supports("avx2");
  f.fma = __builtin_cpu_supports("fma");
  f.avx512f = __builtin_cpu_supports("avx512f");
#endif
  return f;
}

CpuFeatures& features() {
  static CpuFeatures f = [] {
    CpuFeatures detected = detect();
    const char* level = std::getenv("DMDLK_SIMD");
    if (level && std::strcmp(level, "portable") == 0) detected = CpuFeatures{};
    return detected;
  }();
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() { return features(); }

const char* simd_level() {
  const CpuFeatures& f = features();
  return f.avx2 && f.fma ? "avx2" : "portable";
}

bool cap_simd_level(const char* level) {
  if (std::strcmp(level, "portable") == 0) features() = CpuFeatures{};
  else if (std::strcmp(level, "avx2") == 0) features() = detect();  // what the CPU has, AVX2 or not
  else return false;
  return true;
}

}  // namespace dmdlk
