// Broadcasting add/mul and the reduction of their gradients, one thread per
// output (resp. operand) element over the shared index math of ops/broadcast.h.
#include "cuda_check.cuh"
#include "ops/binary.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void binary_kernel(BinaryOp op, BroadcastPlan plan, int64_t n, const T* a, const T* b, T* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t ao, bo;
    broadcast_offsets(plan, i, &ao, &bo);
    y[i] = op == BinaryOp::Add ? a[ao] + b[bo] : a[ao] * b[bo];
  }
}

template <typename T>
__global__ void reduce_broadcast_kernel(ReducePlan plan, int64_t n, const T* dy, const T* other, T* grad) {
  for (int64_t t = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; t < n; t += int64_t(gridDim.x) * blockDim.x) {
    T sum = 0;
    for (int64_t r = 0; r < plan.reduce_count; ++r) {
      int64_t oo, bo;
      reduce_offsets(plan, t, r, &oo, &bo);
      sum += other ? dy[oo] * other[bo] : dy[oo];
    }
    grad[t] = sum;
  }
}

}  // namespace

template <typename T>
void binary_forward(int device, BinaryOp op, const BroadcastPlan& plan, int64_t n, const T* a, const T* b, T* y) {
  if (n == 0) return;
  DeviceGuard guard(device);
  binary_kernel<T><<<blocks_for(n), 256, 0, stream(device)>>>(op, plan, n, a, b, y);
  check_launch(device, "binary_forward");
}

template <typename T>
void reduce_broadcast(int device, const ReducePlan& plan, int64_t n, const T* dy, const T* other, T* grad) {
  if (n == 0) return;
  DeviceGuard guard(device);
  reduce_broadcast_kernel<T><<<blocks_for(n), 256, 0, stream(device)>>>(plan, n, dy, other, grad);
  check_launch(device, "reduce_broadcast");
}

template void binary_forward<float>(int, BinaryOp, const BroadcastPlan&, int64_t, const float*, const float*, float*);
template void binary_forward<double>(int, BinaryOp, const BroadcastPlan&, int64_t, const double*, const double*, double*);
template void reduce_broadcast<float>(int, const ReducePlan&, int64_t, const float*, const float*, float*);
template void reduce_broadcast<double>(int, const ReducePlan&, int64_t, const double*, const double*, double*);

}  // namespace dmdlk::cuda_ops
