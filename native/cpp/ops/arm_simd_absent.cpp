// The arm64 SIMD kernel of a build for another CPU (x86-64): gemm_neon.cpp is
// not compiled there (its intrinsics are arm64's), and cpu_features() never
// reports NEON, so the dispatch never calls this. It exists so that the one
// dispatch code links everywhere; a call is a bug.
#include "core/error.h"
#include "ops/gemm_kernels.h"

namespace dmdlk::gemm_detail {

void NeonFloatKernel::run(int, int64_t, const float*, const float*, int64_t, float*, int64_t, float, bool) {
  throw Error(ErrorCode::Internal, "NeonFloatKernel::run was called in a build for a CPU without NEON");
}

}  // namespace dmdlk::gemm_detail
