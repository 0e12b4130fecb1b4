// Turns CUDA runtime failures into dmdlk::Error: out-of-memory becomes
// ERR_GPU_OOM, everything else ERR_CUDA with the call that failed.
#pragma once
#include <cuda_runtime.h>

#include "core/cuda_runtime.h"
#include "core/error.h"
#include "gpu/launch_plan.h"

namespace dmdlk::cuda {

inline void throw_cuda_error(cudaError_t status, const char* what) {
  ErrorCode code = status == cudaErrorMemoryAllocation ? ErrorCode::GpuOom : ErrorCode::Cuda;
  throw Error(code, concat(what, ": ", cudaGetErrorName(status), " (", cudaGetErrorString(status), ")"));
}

#define DMDLK_CUDA_CALL(call)                                     \
  do {                                                            \
    cudaError_t status_ = (call);                                 \
    if (status_ != cudaSuccess) {                                 \
      cudaGetLastError(); /* clear the sticky-free error state */ \
      ::dmdlk::cuda::throw_cuda_error(status_, #call);            \
    }                                                             \
  } while (0)

// The stream every kernel of `device` runs on (created on first use).
cudaStream_t stream(int device);

// Makes `device` current for this thread for the scope of the object, then
// restores the device that was current before.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = -1;
};

// Launches `kernel` on `device`'s stream with the geometry of `plan`, logs the
// plan where a LaunchLog is active (launch_plan.h), and throws the launch's
// error, named after the plan's kernel.
template <typename... Params, typename... Args>
void launch(int device, const LaunchPlan& plan, void (*kernel)(Params...), Args... args) {
  if (LaunchLog* log = LaunchLog::active()) log->launches.push_back(plan);
  DeviceGuard guard(device);
  dim3 grid(unsigned(plan.grid.x), unsigned(plan.grid.y), unsigned(plan.grid.z));
  dim3 block(unsigned(plan.block.x), unsigned(plan.block.y), unsigned(plan.block.z));
  kernel<<<grid, block, size_t(plan.dynamic_shared_bytes), stream(device)>>>(args...);
  check_launch(device, plan.kernel.c_str());
}

}  // namespace dmdlk::cuda

// The kernels of native/cuda live in dmdlk::cuda_ops and use these helpers.
namespace dmdlk::cuda_ops {

// A count that kernels divide in 32 bits (a GPU has no 64-bit division:
// core/index_divisor.h) must stay below 2^31: ERR_INVALID_ARG where it does not,
// naming what it counts ("softmax: rows of 3000000000 elements ...").
inline void check_fits_32_bits(int64_t count, const char* what) {
  DMDLK_CHECK(count < (int64_t(1) << 31), ErrorCode::InvalidArg, what, " ", count,
              " are more than the kernels index (2^31)");
}

// A thread per index i of [0, n), striding over what the grid does not
// cover. Not unrolled: a plan's grid covers its n in one pass
// (elementwise_plan), and to unroll, nvcc counts the passes by a 64-bit
// division by the stride, a routine of ~1.3 KB in every kernel.
#define DMDLK_GRID_LOOP(i, n)                                                                   \
  _Pragma("unroll 1") for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); \
                           i += int64_t(gridDim.x) * blockDim.x)

// f(row, lane) for every row of `rows`, a warp per row, striding over the grid
// (every lane of a warp takes the same rows, so warp shuffles in f see all 32).
template <class F>
__device__ void for_warp_rows(int64_t rows, F f) {
  const int64_t warps = int64_t(gridDim.x) * blockDim.x / 32;
  const int lane = threadIdx.x % 32;
#pragma unroll 1
  for (int64_t row = (blockIdx.x * int64_t(blockDim.x) + threadIdx.x) / 32; row < rows; row += warps) f(row, lane);
}

using cuda::check_launch;
using cuda::DeviceGuard;
using cuda::launch;
using cuda::LaunchPlan;
using cuda::stream;
}  // namespace dmdlk::cuda_ops
