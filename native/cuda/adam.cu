// The fused Adam step: one thread per parameter over ops/adam.h's update, over
// lists of tensors (a block per chunk of one tensor; one tensor is a list of one).
#include "cuda_check.cuh"
#include "gpu/adam.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void __launch_bounds__(kListThreads)
    adam_all_kernel(TensorList<T, 4> list, double lr_corrected, double sqrt_bc2, AdamOptions o) {
  const ListChunk c = list.locate(blockIdx.x);
  T *p = list.data[0][c.tensor], *g = list.data[1][c.tensor], *m = list.data[2][c.tensor], *v = list.data[3][c.tensor];
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += kListThreads)
    adam_update(p[i], g[i], m[i], v[i], lr_corrected, sqrt_bc2, o);
}

template <typename T>
__global__ void __launch_bounds__(kListThreads) nonfinite_all_kernel(TensorList<const T, 1> list, int32_t* counter) {
  const ListChunk c = list.locate(blockIdx.x);
  const T* x = list.data[0][c.tensor];
  int32_t bad = 0;
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += kListThreads) bad += !isfinite(x[i]);
  if (bad) atomicAdd(counter, bad);  // a count, not a sum of floats: order does not matter
}

}  // namespace

template <typename T>
void adam_step_all(int device, const std::vector<TensorList<T, 4>>& lists, double lr_corrected, double sqrt_bc2,
                   const AdamOptions& o) {
  const std::vector<cuda::LaunchPlan> plans =
      list_plans(lists, [](const std::vector<int64_t>& sizes) { return plan_adam_step_all(sizes, sizeof(T)); });
  for (size_t i = 0; i < lists.size(); ++i)
    launch(device, plans[i], adam_all_kernel<T>, lists[i], lr_corrected, sqrt_bc2, o);
}

template <typename T>
void count_nonfinite_all(int device, const std::vector<TensorList<const T, 1>>& lists, int32_t* counter) {
  const std::vector<cuda::LaunchPlan> plans =
      list_plans(lists, [](const std::vector<int64_t>& sizes) { return plan_count_nonfinite_all(sizes, sizeof(T)); });
  for (size_t i = 0; i < lists.size(); ++i) launch(device, plans[i], nonfinite_all_kernel<T>, lists[i], counter);
}

#define INSTANTIATE(T)                                                                                           \
  template void adam_step_all<T>(int, const std::vector<TensorList<T, 4>>&, double, double, const AdamOptions&); \
  template void count_nonfinite_all<T>(int, const std::vector<TensorList<const T, 1>>&, int32_t*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
