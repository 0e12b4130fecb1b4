// CUDA's softmax over the last axis (softmax.cu) and its launch plans.
#pragma once
#include <cstdint>

#include "cuda/launch_plan.h"

namespace dmdlk::cuda_ops {

template <typename T>
void softmax_forward(int device, int64_t rows, int64_t n, const T* x, T* y);
template <typename T>
void softmax_backward(int device, int64_t rows, int64_t n, const T* dy, const T* y, T* dx);

constexpr int64_t kSoftmaxThreads = 256;

// One block of kSoftmaxThreads per row of n: each thread reduces n / kSoftmaxThreads elements, then the block.
inline cuda::LaunchPlan plan_softmax(const char* kernel, int64_t rows, int64_t n, int64_t element_bytes, int tensors) {
  cuda::LaunchPlan p;
  p.kernel = kernel;
  p.grid.x = rows;
  p.block.x = kSoftmaxThreads;
  p.shared_bytes = 1024 * 8;  // block_reduce's scratch
  p.bytes = double(rows) * n * element_bytes * tensors;
  p.flops = 5.0 * rows * n;
  p.serial_reduction = cuda::blocks_to_cover(n, kSoftmaxThreads);
  return p;
}
inline cuda::LaunchPlan plan_softmax_forward(int64_t rows, int64_t n, int64_t element_bytes) {
  return plan_softmax("softmax_forward", rows, n, element_bytes, 2);
}
inline cuda::LaunchPlan plan_softmax_backward(int64_t rows, int64_t n, int64_t element_bytes) {
  return plan_softmax("softmax_backward", rows, n, element_bytes, 3);
}

}  // namespace dmdlk::cuda_ops
