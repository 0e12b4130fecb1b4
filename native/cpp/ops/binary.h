// Element-wise add and multiply with numpy broadcasting, and their gradients
// (each reduced back to its operand's shape).
#pragma once
#include "core/tensor.h"
#include "ops/broadcast.h"

namespace dmdlk {

enum class BinaryOp { Add, Mul };

Tensor add(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);

struct BinaryGrads {
  Tensor da, db;
};
BinaryGrads add_backward(const Tensor& dy, const Tensor& a, const Tensor& b);
BinaryGrads mul_backward(const Tensor& dy, const Tensor& a, const Tensor& b);

namespace cuda_ops {
template <typename T>
void binary_forward(int device, BinaryOp op, const BroadcastPlan& plan, int64_t n, const T* a, const T* b, T* y);
// grad[t] = Σ_r dy[out(t, r)] · (other ? other[other(t, r)] : 1)
template <typename T>
void reduce_broadcast(int device, const ReducePlan& plan, int64_t n, const T* dy, const T* other, T* grad);
}  // namespace cuda_ops

}  // namespace dmdlk
