// CUDA's GEMM (gemm.cu: float32 and float64 on the CUDA cores;
// gemm_tensor_cores.cu: float32 on TF32 or BF16 tensor cores) and its launch
// plans. Same contract as ops/gemm.h.
#pragma once
#include <cstdint>

#include "core/matmul_precision.h"
#include "cuda/launch_plan.h"
#include "ops/gemm.h"

namespace dmdlk::cuda_ops {

template <typename T>
void gemm(int device, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c);
void gemm_tensor_cores(int device, MatmulPrecision precision, const GemmShape& s, float alpha, const float* a,
                       const float* b, float beta, float* c);

// Both kernels: one block per 64×64 tile of C and batch item, walking all of k.
constexpr int64_t kGemmTile = 64, kGemmDepth = 16;
constexpr int64_t kGemmThreads = 256, kGemmTensorCoreThreads = 128;

// The flops are the tiles' (a 64×64 tile computes all of itself, edges included).
inline cuda::LaunchPlan plan_gemm_tiles(const GemmShape& s, int64_t element_bytes, bool accumulate) {
  cuda::LaunchPlan p;
  p.grid = {cuda::blocks_to_cover(s.n, kGemmTile), cuda::blocks_to_cover(s.m, kGemmTile), s.batch};
  p.bytes = double(s.batch) * (s.m * s.k + s.k * s.n + s.m * s.n * (accumulate ? 2 : 1)) * element_bytes;
  p.flops = 2.0 * s.batch * double(p.grid.x * kGemmTile) * double(p.grid.y * kGemmTile) * double(s.k);
  p.serial_reduction = s.k;
  return p;
}

// float32 and float64 on the CUDA cores: 256 threads, a 4×4 patch each.
inline cuda::LaunchPlan plan_gemm_simt(const GemmShape& s, int64_t element_bytes, bool accumulate) {
  cuda::LaunchPlan p = plan_gemm_tiles(s, element_bytes, accumulate);
  p.kernel = element_bytes == 8 ? "gemm_simt<f64>" : "gemm_simt<f32>";
  p.block.x = kGemmThreads;
  p.shared_bytes = 2 * kGemmDepth * (kGemmTile + 1) * element_bytes;
  p.unit = element_bytes == 8 ? cuda::MathUnit::Fp64 : cuda::MathUnit::Fp32;
  return p;
}

// float32 on tensor cores: 4 warps of WMMA fragments, slices staged rounded.
inline cuda::LaunchPlan plan_gemm_tensor_cores(const GemmShape& s, MatmulPrecision precision, bool accumulate) {
  cuda::LaunchPlan p = plan_gemm_tiles(s, 4, accumulate);
  bool bf16 = precision == MatmulPrecision::Medium;
  p.kernel = bf16 ? "gemm_tensor_cores<bf16>" : "gemm_tensor_cores<tf32>";
  p.block.x = kGemmTensorCoreThreads;
  int64_t stored = bf16 ? 2 : 4, pad = 16 / stored;
  p.shared_bytes = kGemmTile * (kGemmDepth + pad) * stored + kGemmDepth * (kGemmTile + pad) * stored +
                   kGemmTile * (kGemmTile + 4) * 4;
  p.unit = bf16 ? cuda::MathUnit::Bf16 : cuda::MathUnit::Tf32;
  // Fitted to the H200 step, which TF32 and BF16 did not speed up: the kernel
  // stages and rounds every slice through shared memory, about 20 TFLOP/s
  // whatever the type.
  p.compute_efficiency = bf16 ? 0.03 : 0.055;
  return p;
}

// The launch gemm() makes: tensor cores for float32 at precision high or
// medium on GPUs of compute capability 8.0 or newer, else the CUDA cores.
inline cuda::LaunchPlan plan_gemm(const GemmShape& s, int64_t element_bytes, MatmulPrecision precision,
                                  bool tensor_cores, bool accumulate) {
  if (element_bytes == 4 && precision != MatmulPrecision::Highest && tensor_cores)
    return plan_gemm_tensor_cores(s, precision, accumulate);
  return plan_gemm_simt(s, element_bytes, accumulate);
}

// The launch gemm() makes at the process's matmul precision on a GPU with
// tensor cores (what the plans are checked for: an H200).
inline cuda::LaunchPlan plan_device_gemm(const GemmShape& s, int64_t element_bytes, bool accumulate) {
  return plan_gemm(s, element_bytes, matmul_precision(), true, accumulate);
}

}  // namespace dmdlk::cuda_ops
