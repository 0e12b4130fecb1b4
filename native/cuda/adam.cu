// The fused Adam step: one thread per parameter over ops/adam.h's update.
#include "cuda_check.cuh"
#include "ops/adam.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void adam_kernel(int64_t n, T* p, const T* g, T* m, T* v, double lr_corrected, double sqrt_bc2, AdamOptions o) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    adam_update(p[i], g[i], m[i], v[i], lr_corrected, sqrt_bc2, o);
}

template <typename T>
__global__ void nonfinite_kernel(int64_t n, const T* x, int32_t* counter) {
  int32_t bad = 0;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    bad += !isfinite(x[i]);
  if (bad) atomicAdd(counter, bad);  // a count, not a sum of floats: order does not matter
}

}  // namespace

template <typename T>
void count_nonfinite(int device, int64_t n, const T* x, int32_t* counter) {
  if (n == 0) return;
  DeviceGuard guard(device);
  nonfinite_kernel<T><<<blocks_for(n), 256, 0, stream(device)>>>(n, x, counter);
  check_launch(device, "count_nonfinite");
}

template void count_nonfinite<float>(int, int64_t, const float*, int32_t*);
template void count_nonfinite<double>(int, int64_t, const double*, int32_t*);

template <typename T>
void adam_step(int device, int64_t n, T* params, const T* grads, T* m, T* v, double lr_corrected, double sqrt_bc2,
               const AdamOptions& o) {
  if (n == 0) return;
  DeviceGuard guard(device);
  adam_kernel<T><<<blocks_for(n), 256, 0, stream(device)>>>(n, params, grads, m, v, lr_corrected, sqrt_bc2, o);
  check_launch(device, "adam_step");
}

template void adam_step<float>(int, int64_t, float*, const float*, float*, float*, double, double, const AdamOptions&);
template void adam_step<double>(int, int64_t, double*, const double*, double*, double*, double, double, const AdamOptions&);

}  // namespace dmdlk::cuda_ops
