// Turns CUDA runtime failures into dmdlk::Error: out-of-memory becomes
// ERR_GPU_OOM, everything else ERR_CUDA with the call that failed.
#pragma once
#include <cuda_runtime.h>

#include "core/cuda_runtime.h"
#include "core/error.h"

namespace dmdlk::cuda {

inline void throw_cuda_error(cudaError_t status, const char* what) {
  ErrorCode code = status == cudaErrorMemoryAllocation ? ErrorCode::GpuOom : ErrorCode::Cuda;
  throw Error(code, concat(what, ": ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")"));
}

#define DMDLK_CUDA_CALL(call)                                    \
  do {                                                           \
    cudaError_t status_ = (call);                                \
    if (status_ != cudaSuccess) {                                \
      cudaGetLastError(); /* clear the sticky-free error state */ \
      ::dmdlk::cuda::throw_cuda_error(status_, #call);           \
    }                                                            \
  } while (0)

// The stream every kernel of `device` runs on (created on first use).
cudaStream_t stream(int device);

// Makes `device` current for this thread for the scope of the object.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
};

// Blocks of 256 threads and enough of them to cover n, capped so grid-stride
// loops do the rest.
inline unsigned blocks_for(long long n, int threads = 256) {
  long long blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 1 ? 1 : (blocks > 65535 * 8 ? 65535 * 8 : blocks));
}

}  // namespace dmdlk::cuda

// The kernels of native/cuda live in dmdlk::cuda_ops and use these helpers.
namespace dmdlk::cuda_ops {
using cuda::blocks_for;
using cuda::check_launch;
using cuda::DeviceGuard;
using cuda::stream;
}  // namespace dmdlk::cuda_ops
