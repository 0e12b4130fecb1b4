// CUDA's broadcasting add/mul and the reduction of their gradients (binary.cu),
// and their launch plans.
#pragma once
#include <cstdint>
#include <vector>

#include "gpu/launch_plan.h"
#include "gpu/reduce.h"
#include "ops/binary.h"
#include "ops/broadcast.h"

namespace dmdlk::cuda_ops {

template <typename T>
void binary_forward(int device, BinaryOp op, const BroadcastPlan& plan, int64_t n, const T* a, const T* b, T* y);
// grad = Σ dy (· other) over the broadcast axes; with `other_grad` (other of
// dy's shape), other_grad = dy · self in the same pass (mul's two gradients).
template <typename T>
void reduce_broadcast(int device, const ReducePlan& plan, int64_t n, const T* dy, const T* other, T* grad,
                      const T* self, T* other_grad);

// One thread per output element; each operand is read once (a cache keeps the broadcast ones).
inline cuda::LaunchPlan plan_binary_forward(const BroadcastPlan& plan, int64_t n, int64_t element_bytes) {
  double a = 1, b = 1;
  for (int d = 0; d < plan.rank; ++d) {
    if (plan.a_stride[d]) a *= double(plan.out_size[d].d);
    if (plan.b_stride[d]) b *= double(plan.out_size[d].d);
  }
  return cuda::elementwise_plan("binary_forward", n, (double(n) + a + b) * element_bytes, double(n));
}

// A gradient whose operand's axes form one contiguous block of the output's
// ([reduced, kept, reduced], e.g. a [1, C, 1, 1] scale of [N, C, H, W]) is a
// per-channel reduction (gpu/reduce.h) over that layout; `other_strides` then
// index the other operand by (outer, channel, inner). False for any other
// pattern, and where nothing is reduced (the thread per element is then best).
inline bool reduce_as_channels(const ReducePlan& p, ChannelLayout* l, int64_t other_strides[3]) {
  int first = -1, last = -1;
  for (int d = 0; d < p.rank; ++d)
    if (p.target_size[d].d > 1) {
      if (first < 0) first = d;
      last = d;
    }
  if (p.reduce_count == 1 || first < 0 || first != last || p.rank > 3 || first > 1 || p.rank - last > 2) return false;
  int64_t sizes[3] = {1, 1, 1}, strides[3] = {0, 0, 0};
  // The kept axis becomes the channels; the axis before it (if any) outer, after it inner.
  for (int d = 0; d < p.rank; ++d) {
    int slot = d < first ? 0 : d == first ? 1 : 2;
    sizes[slot] = d == first ? p.target_size[d].d : p.reduce_size[d].d;
    strides[slot] = p.other_stride[d];
  }
  *l = {sizes[0], sizes[1], sizes[2]};
  for (int i = 0; i < 3; ++i) other_strides[i] = strides[i];
  return true;
}

// A per-channel reduction where reduce_as_channels applies; otherwise a block
// per 32 elements of the operand, its 16 rows of threads each summing every
// 16th of the reduce_count outputs that read an element (neighbouring
// threads read neighbouring outputs where the reduced axis is not the
// innermost), the rows' sums added in order.
constexpr int64_t kReduceColumns = 32, kReduceGroups = 16;
inline std::vector<cuda::LaunchPlan> plan_reduce_broadcast(const ReducePlan& plan, int64_t n, bool other,
                                                           int64_t element_bytes, bool other_grad = false) {
  ChannelLayout l;
  int64_t strides[3];
  if (reduce_as_channels(plan, &l, strides))
    return plan_channel_reduce("reduce_broadcast", l, element_bytes, (other ? 2 : 1) + (other_grad ? 1 : 0), 8,
                               element_bytes);
  cuda::LaunchPlan p;
  p.kernel = "reduce_broadcast";
  p.grid.x = (n + kReduceColumns - 1) / kReduceColumns;
  p.block = {kReduceColumns, kReduceGroups, 1};
  p.shared_bytes = kReduceColumns * kReduceGroups * 8;
  p.bytes = double(n) * plan.reduce_count * element_bytes * ((other ? 2 : 1) + (other_grad ? 1 : 0)) +
            double(n) * element_bytes;
  p.flops = double(n) * plan.reduce_count * (other ? 2 : 1);
  p.serial_reduction = (plan.reduce_count + kReduceGroups - 1) / kReduceGroups;
  return {p};
}

}  // namespace dmdlk::cuda_ops
