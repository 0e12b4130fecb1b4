// The float32 GEMM on tensor cores (gemm_tensor_cores.cu), which gemm.cu
// calls for precisions "high" (TF32) and "medium" (BF16) on GPUs of compute
// capability 8.0 or newer. Same contract as cuda_ops::gemm.
#pragma once
#include "core/matmul_precision.h"
#include "ops/gemm.h"

namespace dmdlk::cuda_ops {

void gemm_tensor_cores(int device, MatmulPrecision precision, const GemmShape& s, float alpha, const float* a,
                       const float* b, float beta, float* c);

}  // namespace dmdlk::cuda_ops
