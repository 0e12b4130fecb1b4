// CUDA's fused Adam step and non-finite count (adam.cu), and their launch plans.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gpu/launch_plan.h"
#include "gpu/tensor_lists.h"
#include "ops/adam.h"

namespace dmdlk::cuda_ops {

// Over lists of tensors (ops/tensor_list.h): Adam's arrays are parameters,
// gradients (read only), m and v.
template <typename T>
void adam_step_all(int device, const std::vector<TensorList<T, 4>>& lists, double lr_corrected, double sqrt_bc2,
                   const AdamOptions& o);
template <typename T>
void count_nonfinite_all(int device, const std::vector<TensorList<const T, 1>>& lists, int32_t* counter);

// A thread per parameter: p, g, m, v read, p, m, v written.
inline std::vector<cuda::LaunchPlan> plan_adam_step_all(const std::vector<int64_t>& sizes, int64_t element_bytes) {
  return plan_tensor_lists("adam_step_all", sizes, 7.0 * double(element_bytes), 12.0);
}
inline std::vector<cuda::LaunchPlan> plan_count_nonfinite_all(const std::vector<int64_t>& sizes,
                                                              int64_t element_bytes) {
  return plan_tensor_lists("count_nonfinite_all", sizes, double(element_bytes), 1.0);
}

}  // namespace dmdlk::cuda_ops
