// One entry into the backends. Each op's kernels exist twice with the same
// name and arguments: cpu_ops::name(args...) in native/cpp/ops, and
// cuda_ops::name(device, args...) in native/cuda (declared in native/cpp/gpu/<family>.h). An
// op's entry point checks its operands once, then calls
//   DMDLK_ON_DEVICE(device, name, args...)
// which runs the kernel of the device the tensors live on. A build without
// CUDA has no cuda_ops to call; no tensor can live on a GPU there, so that
// branch only guards against misuse.
#pragma once
#include "core/error.h"

namespace dmdlk {

[[noreturn]] inline void no_cuda_in_this_build() {
  throw Error(ErrorCode::NoGpu, "this binary was built without CUDA");
}

// Explicit instantiation of a kernel template for every floating type an op
// computes in: INSTANTIATE(T) is a macro of the caller's, expanded once per type.
#define DMDLK_INSTANTIATE_FLOATING(INSTANTIATE) INSTANTIATE(float) INSTANTIATE(double)

}  // namespace dmdlk

#ifdef DMDLK_WITH_CUDA
#define DMDLK_ON_DEVICE(device, kernel, ...) \
  ((device).is_cpu() ? ::dmdlk::cpu_ops::kernel(__VA_ARGS__) : ::dmdlk::cuda_ops::kernel((device).index, __VA_ARGS__))
#else
#define DMDLK_ON_DEVICE(device, kernel, ...) \
  ((device).is_cpu() ? ::dmdlk::cpu_ops::kernel(__VA_ARGS__) : ::dmdlk::no_cuda_in_this_build())
#endif
