// CUDA's permutation and channel-block copies and the copies of many tensors
// at once (layout.cu), and their launch plans.
#pragma once
#include <cstdint>

#include "gpu/launch_plan.h"
#include "gpu/tensor_lists.h"
#include "ops/layout.h"

namespace dmdlk::cuda_ops {

template <typename T>
void permute(int device, const PermutePlan& plan, int64_t n, const T* x, T* y);
// Byte copies over lists of tensors (destination, source): clone_all.
void copy_bytes_all(int device, const std::vector<TensorList<uint8_t, 2>>& lists);
inline std::vector<cuda::LaunchPlan> plan_copy_bytes_all(const std::vector<int64_t>& bytes) {
  return plan_tensor_lists("copy_bytes_all", bytes, 2.0, 0.0);
}

template <typename T>
void copy_channels(int device, int64_t batch, int64_t inner, const T* src, int64_t src_channels, int64_t src_begin,
                   T* dst, int64_t dst_channels, int64_t dst_begin, int64_t count);

// One thread per output element, gathering its input.
inline cuda::LaunchPlan plan_permute(int64_t n, int64_t element_bytes) {
  return cuda::elementwise_plan("permute", n, 2.0 * n * element_bytes);
}
// One thread per copied element.
inline cuda::LaunchPlan plan_copy_channels(int64_t batch, int64_t inner, int64_t count, int64_t element_bytes) {
  int64_t n = batch * count * inner;
  return cuda::elementwise_plan("copy_channels", n, 2.0 * n * element_bytes);
}

}  // namespace dmdlk::cuda_ops
