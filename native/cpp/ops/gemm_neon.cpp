// The NEON float micro-kernel of arm64 (AdvSIMD, in every AArch64 CPU): up to
// 8 rows × 8 columns of C held in 16 q-register accumulators, per step two
// loads of B and two of A, whose lanes the fused multiply-adds take one by one
// (vfmaq_laneq_f32: no broadcast instruction), then added into C. As the AVX2
// kernel, a tile with fewer rows runs a kernel of its own size. Built only
// for arm64 (elsewhere arm_simd_absent.cpp stands in).
#include <arm_neon.h>

#include "ops/gemm_kernels.h"

namespace dmdlk::gemm_detail {

namespace {

// acc[i] += a[i] · b, the lane of a's vector chosen at compile time.
template <int I>
inline void multiply_add(float32x4_t (&acc)[2], float32x4_t a_low, float32x4_t a_high, float32x4_t b0, float32x4_t b1) {
  const float32x4_t a = I < 4 ? a_low : a_high;
  acc[0] = vfmaq_laneq_f32(acc[0], b0, a, I % 4);
  acc[1] = vfmaq_laneq_f32(acc[1], b1, a, I % 4);
}

template <int Rows>
void run_rows(int64_t kc, const float* a, const float* b, int64_t b_step, float* c, int64_t ldc, float alpha,
              bool overwrite) {
  constexpr int MR = NeonFloatKernel::MR;
  float32x4_t acc[8][2];
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i) acc[i][0] = acc[i][1] = vdupq_n_f32(0.0f);
  for (int64_t p = 0; p < kc; ++p, a += MR, b += b_step) {
    const float32x4_t b0 = vld1q_f32(b), b1 = vld1q_f32(b + 4);
    const float32x4_t a_low = vld1q_f32(a), a_high = vld1q_f32(a + 4);
    if constexpr (Rows > 0) multiply_add<0>(acc[0], a_low, a_high, b0, b1);
    if constexpr (Rows > 1) multiply_add<1>(acc[1], a_low, a_high, b0, b1);
    if constexpr (Rows > 2) multiply_add<2>(acc[2], a_low, a_high, b0, b1);
    if constexpr (Rows > 3) multiply_add<3>(acc[3], a_low, a_high, b0, b1);
    if constexpr (Rows > 4) multiply_add<4>(acc[4], a_low, a_high, b0, b1);
    if constexpr (Rows > 5) multiply_add<5>(acc[5], a_low, a_high, b0, b1);
    if constexpr (Rows > 6) multiply_add<6>(acc[6], a_low, a_high, b0, b1);
    if constexpr (Rows > 7) multiply_add<7>(acc[7], a_low, a_high, b0, b1);
  }
#pragma GCC unroll 8
  for (int i = 0; i < Rows; ++i, c += ldc) {
    const float32x4_t old0 = overwrite ? vdupq_n_f32(0.0f) : vld1q_f32(c);
    const float32x4_t old1 = overwrite ? vdupq_n_f32(0.0f) : vld1q_f32(c + 4);
    vst1q_f32(c, vfmaq_n_f32(old0, acc[i][0], alpha));
    vst1q_f32(c + 4, vfmaq_n_f32(old1, acc[i][1], alpha));
  }
}

}  // namespace

void NeonFloatKernel::run(int rows, int64_t kc, const float* a, const float* b, int64_t b_step, float* c, int64_t ldc,
                          float alpha, bool overwrite) {
  for_rows<8>(rows, [&](auto height) { run_rows<height()>(kc, a, b, b_step, c, ldc, alpha, overwrite); });
}

}  // namespace dmdlk::gemm_detail
