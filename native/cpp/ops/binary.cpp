#include "ops/binary.h"

#include "core/thread_pool.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

constexpr int64_t kElementGrain = 16384;

template <typename T>
void cpu_binary_forward(BinaryOp op, const BroadcastPlan& plan, int64_t n, const T* a, const T* b, T* y) {
  parallel_for(0, n, kElementGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      int64_t ao, bo;
      broadcast_offsets(plan, i, &ao, &bo);
      y[i] = op == BinaryOp::Add ? a[ao] + b[bo] : a[ao] * b[bo];
    }
  });
}

template <typename T>
void cpu_reduce_broadcast(const ReducePlan& plan, int64_t n, const T* dy, const T* other, T* grad) {
  parallel_for(0, n, std::max<int64_t>(1, kElementGrain / plan.reduce_count), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t) {
      T sum = 0;
      for (int64_t r = 0; r < plan.reduce_count; ++r) {
        int64_t oo, bo;
        reduce_offsets(plan, t, r, &oo, &bo);
        sum += other ? dy[oo] * other[bo] : dy[oo];
      }
      grad[t] = sum;
    }
  });
}

Tensor binary(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  check_floating(a, name, "a");
  check_compatible(b, a, name, "b", "a");
  BroadcastPlan plan = make_broadcast_plan(a.shape(), b.shape(), name);
  Tensor y = Tensor::empty(broadcast_shape(a.shape(), b.shape(), name), a.dtype(), a.device());
  dispatch_floating(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if (a.device().is_cpu()) cpu_binary_forward(op, plan, y.numel(), a.data<T>(), b.data<T>(), y.data<T>());
    else DMDLK_CUDA_DISPATCH(cuda_ops::binary_forward(a.device().index, op, plan, y.numel(), a.data<T>(), b.data<T>(), y.data<T>()));
  });
  return y;
}

// d(operand) = reduce(dy · other) over the axes where the operand was broadcast.
// For add, an operand that was not broadcast has dy itself as its gradient
// (tensors are immutable, so sharing it is safe).
Tensor reduce_to(const Tensor& dy, const Tensor& operand, const Tensor* other) {
  if (!other && operand.shape() == dy.shape()) return dy;
  ReducePlan plan = make_reduce_plan(dy.shape(), operand.shape(), other ? &other->shape() : nullptr);
  Tensor grad = Tensor::empty(operand.shape(), dy.dtype(), dy.device());
  dispatch_floating(dy.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* o = other ? other->data<T>() : nullptr;
    if (dy.device().is_cpu()) cpu_reduce_broadcast(plan, grad.numel(), dy.data<T>(), o, grad.data<T>());
    else DMDLK_CUDA_DISPATCH(cuda_ops::reduce_broadcast(dy.device().index, plan, grad.numel(), dy.data<T>(), o, grad.data<T>()));
  });
  return grad;
}

void check_backward(const char* name, const Tensor& dy, const Tensor& a, const Tensor& b) {
  check_floating(a, name, "a");
  check_compatible(b, a, name, "b", "a");
  check_compatible(dy, a, name, "dy", "a");
  check_shape(dy, broadcast_shape(a.shape(), b.shape(), name), name, "dy");
}

}  // namespace

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Add, "add", a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::Mul, "mul", a, b); }

BinaryGrads add_backward(const Tensor& dy, const Tensor& a, const Tensor& b) {
  check_backward("add_backward", dy, a, b);
  return {reduce_to(dy, a, nullptr), reduce_to(dy, b, nullptr)};
}

BinaryGrads mul_backward(const Tensor& dy, const Tensor& a, const Tensor& b) {
  check_backward("mul_backward", dy, a, b);
  return {reduce_to(dy, a, &b), reduce_to(dy, b, &a)};
}

}  // namespace dmdlk
