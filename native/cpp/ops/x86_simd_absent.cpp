// The x86 SIMD kernels of a build for another CPU (arm64): the AVX2 and
// AVX-512 files are not compiled there (their intrinsics are x86's), and
// cpu_features() reports neither, so the dispatch never calls these. They
// exist so that the one dispatch code links everywhere; a call is a bug.
#include "core/error.h"
#include "ops/activation_kernels.h"
#include "ops/deform_depthwise_rows.h"
#include "ops/gemm_kernels.h"

namespace dmdlk {

namespace {
[[noreturn]] void not_built(const char* kernel) {
  throw Error(ErrorCode::Internal, concat(kernel, " was called in a build for a CPU without x86 SIMD"));
}
}  // namespace

namespace activation_avx2 {
void forward(Activation, const float*, float*, int64_t, int64_t) { not_built("activation_avx2::forward"); }
void backward(Activation, const float*, const float*, float*, int64_t, int64_t) {
  not_built("activation_avx2::backward");
}
}  // namespace activation_avx2

namespace activation_avx512 {
void forward(Activation, const float*, float*, int64_t, int64_t) { not_built("activation_avx512::forward"); }
void backward(Activation, const float*, const float*, float*, int64_t, int64_t) {
  not_built("activation_avx512::backward");
}
}  // namespace activation_avx512

namespace gemm_detail {
void Avx2FloatKernel::run(int, int64_t, const float*, const float*, int64_t, float*, int64_t, float, bool) {
  not_built("Avx2FloatKernel::run");
}
}  // namespace gemm_detail

namespace deform_avx2 {
void forward_row(int64_t, int64_t, int64_t, const DeformSample<float>*, const float*, const float*, float*) {
  not_built("deform_avx2::forward_row");
}
void backward_row(int64_t, int64_t, int64_t, const DeformSample<float>*, const float*, const float*, const float*,
                  float*, float*, float*, int64_t) {
  not_built("deform_avx2::backward_row");
}
}  // namespace deform_avx2

}  // namespace dmdlk
