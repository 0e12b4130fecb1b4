// Broadcasting add/mul and the reduction of their gradients, one thread per
// output (resp. operand) element over the shared index math of ops/broadcast.h.
#include "cuda_check.cuh"
#include "gpu/binary.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void binary_kernel(BinaryOp op, BroadcastPlan plan, int64_t n, const T* a, const T* b, T* y) {
  DMDLK_GRID_LOOP(i, n) {
    int64_t ao, bo;
    broadcast_offsets(plan, i, &ao, &bo);
    y[i] = op == BinaryOp::Add ? a[ao] + b[bo] : a[ao] * b[bo];
  }
}

template <typename T>
__global__ void __launch_bounds__(kReduceColumns* kReduceGroups)
    reduce_broadcast_kernel(ReducePlan plan, int64_t n, const T* dy, const T* other, T* grad, const T* self,
                            T* other_grad) {
  __shared__ double sums[kReduceGroups][kReduceColumns];
  const int64_t t = blockIdx.x * kReduceColumns + threadIdx.x;
  double sum = 0;
  if (t < n)
    for (int64_t r = threadIdx.y; r < plan.reduce_count; r += kReduceGroups) {
      int64_t oo, bo;
      reduce_offsets(plan, t, r, &oo, &bo);
      sum += other ? double(dy[oo]) * other[bo] : double(dy[oo]);
      if (other_grad) other_grad[bo] = dy[oo] * self[t];  // other has dy's shape: each element once
    }
  sums[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || t >= n) return;
  for (int g = 1; g < int(kReduceGroups); ++g) sum += sums[g][threadIdx.x];
  grad[t] = T(sum);
}

}  // namespace

template <typename T>
void binary_forward(int device, BinaryOp op, const BroadcastPlan& plan, int64_t n, const T* a, const T* b, T* y) {
  if (n == 0) return;
  launch(device, plan_binary_forward(plan, n, sizeof(T)), binary_kernel<T>, op, plan, n, a, b, y);
}

template <typename T>
void reduce_broadcast(int device, const ReducePlan& plan, int64_t n, const T* dy, const T* other, T* grad,
                      const T* self, T* other_grad) {
  if (n == 0) return;
  ChannelLayout l;
  int64_t strides[3];
  if (reduce_as_channels(plan, &l, strides))
    return channel_sum<T>(device, "reduce_broadcast", l, dy, other, strides, 1.0, grad, self, other_grad);
  launch(device, plan_reduce_broadcast(plan, n, other != nullptr, sizeof(T), other_grad != nullptr)[0],
         reduce_broadcast_kernel<T>, plan, n, dy, other, grad, self, other_grad);
}

#define INSTANTIATE(T)                                                                                   \
  template void binary_forward<T>(int, BinaryOp, const BroadcastPlan&, int64_t, const T*, const T*, T*); \
  template void reduce_broadcast<T>(int, const ReducePlan&, int64_t, const T*, const T*, T*, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
