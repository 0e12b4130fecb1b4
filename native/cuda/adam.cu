// The fused Adam step: one thread per parameter over ops/adam.h's update.
#include "cuda/adam.cuh"
#include "cuda_check.cuh"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void adam_kernel(int64_t n, T* p, const T* g, T* m, T* v, double lr_corrected, double sqrt_bc2,
                            AdamOptions o) {
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
  launch(device, plan_count_nonfinite(n, sizeof(T)), nonfinite_kernel<T>, n, x, counter);
}

template <typename T>
void adam_step(int device, int64_t n, T* params, const T* grads, T* m, T* v, double lr_corrected, double sqrt_bc2,
               const AdamOptions& o) {
  if (n == 0) return;
  launch(device, plan_adam_step(n, sizeof(T)), adam_kernel<T>, n, params, grads, m, v, lr_corrected, sqrt_bc2, o);
}

#define INSTANTIATE(T)                                                \
  template void count_nonfinite<T>(int, int64_t, const T*, int32_t*); \
  template void adam_step<T>(int, int64_t, T*, const T*, T*, T*, double, double, const AdamOptions&);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
