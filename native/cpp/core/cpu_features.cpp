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
#if defined(__aarch64__)
  f.neon = true;
#endif
  return f;
}

// What the CPU has, capped at a level: "portable", "avx2" (no AVX-512) or anything else (no cap).
CpuFeatures capped(const char* level) {
  CpuFeatures f = detect();
  if (level && std::strcmp(level, "portable") == 0) f = CpuFeatures{};
  if (level && std::strcmp(level, "avx2") == 0) f.avx512f = false;
  return f;
}

CpuFeatures& features() {
  static CpuFeatures f = capped(std::getenv("DMDLK_SIMD"));
  return f;
}

}  // namespace

const CpuFeatures& cpu_features() { return features(); }

const char* simd_level() {
  const CpuFeatures& f = features();
  return f.avx2 && f.fma ? "avx2" : f.neon ? "neon" : "portable";
}

bool cap_simd_level(const char* level) {
  if (std::strcmp(level, "portable") != 0 && std::strcmp(level, "avx2") != 0 && std::strcmp(level, "avx512") != 0 &&
      std::strcmp(level, "neon") != 0)
    return false;
  features() = capped(level);  // what the CPU has, up to that level
  return true;
}

}  // namespace dmdlk
