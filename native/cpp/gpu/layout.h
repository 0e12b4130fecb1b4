// CUDA's permutation and its copies of many byte runs at once (layout.cu),
// and their launch plans.
#pragma once
#include <cstdint>

#include "gpu/launch_plan.h"
#include "gpu/tensor_lists.h"
#include "ops/layout.h"

namespace dmdlk::cuda_ops {

// y = x permuted, plus addend (y's layout) where given.
template <typename T>
void permute(int device, const PermutePlan& plan, int64_t n, const T* x, const T* addend, T* y);
// Contiguous byte runs (destination, source) copied in lists: a launch per 128
// runs, a block per chunk of a run, 16-byte words where both ends are
// aligned. Channel-block copies (concat, slice: each batch item's block is one
// run) and clone_all. A flagged run (TensorList::flags) is added instead, as
// float elements or, with `f64`, double ones: a gradient summed in place.
constexpr int64_t kCopyStepBytes = 16 * kListThreads, kCopyChunkBytes = 4 * kCopyStepBytes;
void copy_bytes_all(int device, const std::vector<TensorList<uint8_t, 2>>& lists, bool f64);
inline std::vector<cuda::LaunchPlan> plan_copy_bytes_all(const std::vector<int64_t>& bytes) {
  return plan_tensor_lists("copy_bytes_all", bytes, 2.0, 0.0, kCopyChunkBytes, kCopyStepBytes);
}
// Byte runs set to zero in lists, as copy_bytes_all copies them: zeros_all.
void zero_bytes_all(int device, const std::vector<TensorList<uint8_t, 1>>& lists);
inline std::vector<cuda::LaunchPlan> plan_zero_bytes_all(const std::vector<int64_t>& bytes) {
  return plan_tensor_lists("zero_bytes_all", bytes, 1.0, 0.0, kCopyChunkBytes, kCopyStepBytes);
}

// One thread per output element, gathering its input (and reading the addend's).
inline cuda::LaunchPlan plan_permute(int64_t n, int64_t element_bytes, bool addend = false) {
  return cuda::elementwise_plan("permute", n, (addend ? 3.0 : 2.0) * n * element_bytes);
}
}  // namespace dmdlk::cuda_ops
