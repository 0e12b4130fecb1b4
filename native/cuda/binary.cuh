// CUDA's broadcasting add/mul and the reduction of their gradients (binary.cu),
// and their launch plans.
#pragma once
#include <cstdint>

#include "cuda/launch_plan.h"
#include "ops/binary.h"
#include "ops/broadcast.h"

namespace dmdlk::cuda_ops {

template <typename T>
void binary_forward(int device, BinaryOp op, const BroadcastPlan& plan, int64_t n, const T* a, const T* b, T* y);
template <typename T>
void reduce_broadcast(int device, const ReducePlan& plan, int64_t n, const T* dy, const T* other, T* grad);

// One thread per output element; each operand is read once (a cache keeps the broadcast ones).
inline cuda::LaunchPlan plan_binary_forward(const BroadcastPlan& plan, int64_t n, int64_t element_bytes) {
  double a = 1, b = 1;
  for (int d = 0; d < plan.rank; ++d) {
    if (plan.a_stride[d]) a *= double(plan.out_size[d]);
    if (plan.b_stride[d]) b *= double(plan.out_size[d]);
  }
  return cuda::elementwise_plan("binary_forward", n, (double(n) + a + b) * element_bytes, double(n));
}

// One thread per element of the operand, summing the reduce_count outputs that read it.
inline cuda::LaunchPlan plan_reduce_broadcast(const ReducePlan& plan, int64_t n, bool other, int64_t element_bytes) {
  cuda::LaunchPlan p = cuda::elementwise_plan(
      "reduce_broadcast", n,
      double(n) * plan.reduce_count * element_bytes * (other ? 2 : 1) + double(n) * element_bytes,
      double(n) * plan.reduce_count * (other ? 2 : 1));
  p.serial_reduction = plan.reduce_count;
  return p;
}

}  // namespace dmdlk::cuda_ops
