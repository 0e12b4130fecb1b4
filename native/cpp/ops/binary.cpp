#include "ops/binary.h"

#include <algorithm>

#include "core/thread_pool.h"
#include "gpu/binary.h"
#include "ops/backend.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace cpu_ops {

constexpr int64_t kElementGrain = 16384;

// The CPU loops walk the output in rows of its innermost (coalesced) axis:
// the offsets are computed once per row, and the row itself is a plain loop
// over contiguous or repeated elements, which the compiler vectorizes.
template <typename T>
void binary_row(BinaryOp op, const T* a, int64_t sa, const T* b, int64_t sb, T* y, int64_t n) {
  if (op == BinaryOp::Add) {
    if (sa && sb)
      for (int64_t j = 0; j < n; ++j) y[j] = a[j] + b[j];
    else if (sa)
      for (int64_t j = 0; j < n; ++j) y[j] = a[j] + b[0];
    else if (sb)
      for (int64_t j = 0; j < n; ++j) y[j] = a[0] + b[j];
    else
      for (int64_t j = 0; j < n; ++j) y[j] = a[0] + b[0];
  } else {
    if (sa && sb)
      for (int64_t j = 0; j < n; ++j) y[j] = a[j] * b[j];
    else if (sa)
      for (int64_t j = 0; j < n; ++j) y[j] = a[j] * b[0];
    else if (sb)
      for (int64_t j = 0; j < n; ++j) y[j] = a[0] * b[j];
    else
      for (int64_t j = 0; j < n; ++j) y[j] = a[0] * b[0];
  }
}

template <typename T>
void binary_forward(BinaryOp op, const BroadcastPlan& plan, int64_t n, const T* a, const T* b, T* y) {
  int last = plan.rank - 1;
  int64_t inner = last >= 0 ? plan.out_size[last].d : 1;
  int64_t sa = last >= 0 ? plan.a_stride[last] : 0, sb = last >= 0 ? plan.b_stride[last] : 0;
  parallel_for(0, n / inner, std::max<int64_t>(1, kElementGrain / inner), [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      int64_t ao, bo;
      broadcast_offsets(plan, row * inner, &ao, &bo);
      binary_row(op, a + ao, sa, b + bo, sb, y + row * inner, inner);
    }
  });
}

// Σ_j dy[j] · other[j · so] (other absent: Σ dy).
template <typename T>
T row_dot(const T* dy, const T* other, int64_t so, int64_t n) {
  T sum = 0;
  if (!other)
    for (int64_t j = 0; j < n; ++j) sum += dy[j];
  else if (so)
    for (int64_t j = 0; j < n; ++j) sum += dy[j] * other[j];
  else
    for (int64_t j = 0; j < n; ++j) sum += dy[j] * other[0];
  return sum;
}

template <typename T>
void reduce_sum(const ReducePlan& plan, int64_t n, const T* dy, const T* other, T* grad) {
  int last = plan.rank - 1;
  int64_t so = last >= 0 ? plan.other_stride[last] : 0;
  if (last >= 0 && plan.target_size[last].d == 1 && plan.out_stride[last] == 1) {
    // The operand was broadcast along the innermost axis: each element sums rows.
    int64_t inner = plan.reduce_size[last].d, rows = plan.reduce_count / inner;
    parallel_for(0, n, std::max<int64_t>(1, kElementGrain / plan.reduce_count), [&](int64_t lo, int64_t hi) {
      for (int64_t t = lo; t < hi; ++t) {
        T sum = 0;
        for (int64_t r = 0; r < rows; ++r) {
          int64_t oo, bo;
          reduce_offsets(plan, t, r * inner, &oo, &bo);
          sum += row_dot(dy + oo, other ? other + bo : nullptr, so, inner);
        }
        grad[t] = sum;
      }
    });
    return;
  }
  if (last >= 0 && plan.out_stride[last] == 1) {
    // The operand runs along the innermost axis: each of its rows accumulates
    // the matching rows of every reduced position.
    int64_t inner = plan.target_size[last].d;
    parallel_for(0, n / inner, std::max<int64_t>(1, kElementGrain / (inner * plan.reduce_count)),
                 [&](int64_t lo, int64_t hi) {
                   for (int64_t row = lo; row < hi; ++row) {
                     T* g = grad + row * inner;
                     std::fill(g, g + inner, T(0));
                     for (int64_t r = 0; r < plan.reduce_count; ++r) {
                       int64_t oo, bo;
                       reduce_offsets(plan, row * inner, r, &oo, &bo);
                       const T* d = dy + oo;
                       if (!other)
                         for (int64_t j = 0; j < inner; ++j) g[j] += d[j];
                       else if (so)
                         for (int64_t j = 0; j < inner; ++j) g[j] += d[j] * other[bo + j];
                       else
                         for (int64_t j = 0; j < inner; ++j) g[j] += d[j] * other[bo];
                     }
                   }
                 });
    return;
  }
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

// grad as reduce_sum makes it; with `other_grad`, also other's gradient,
// dy · self: other has dy's shape (the product's other operand, mul_backward).
template <typename T>
void reduce_broadcast(const ReducePlan& plan, int64_t n, const T* dy, const T* other, T* grad, const T* self,
                      T* other_grad) {
  reduce_sum(plan, n, dy, other, grad);
  if (!other_grad) return;
  parallel_for(0, n, std::max<int64_t>(1, kElementGrain / plan.reduce_count), [&](int64_t lo, int64_t hi) {
    for (int64_t t = lo; t < hi; ++t)
      for (int64_t r = 0; r < plan.reduce_count; ++r) {
        int64_t oo, bo;
        reduce_offsets(plan, t, r, &oo, &bo);
        other_grad[bo] = dy[oo] * self[t];
      }
  });
}

}  // namespace cpu_ops

namespace {

Tensor binary(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  check_floating(a, name, "a");
  check_compatible(b, a, name, "b", "a");
  BroadcastPlan plan = make_broadcast_plan(a.shape(), b.shape(), name);
  Tensor y = Tensor::empty(broadcast_shape(a.shape(), b.shape(), name), a.dtype(), a.device());
  dispatch_floating(a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(a.device(), binary_forward, op, plan, y.numel(), a.data<T>(), b.data<T>(), y.data<T>());
  });
  return y;
}

// d(operand) = reduce(dy · other) over the axes where the operand was broadcast.
// For add, an operand that was not broadcast has dy itself as its gradient
// (tensors are immutable, so sharing it is safe). With `other_grad` (mul,
// other of dy's shape), the same pass writes other's gradient, dy · operand.
Tensor reduce_to(const Tensor& dy, const Tensor& operand, const Tensor* other, Tensor* other_grad = nullptr) {
  if (!other && operand.shape() == dy.shape()) return dy;
  // An empty output: the operand's gradient sums nothing (and the other's is as empty as dy).
  if (dy.numel() == 0) {
    if (other_grad) *other_grad = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
    return Tensor::zeros(operand.shape(), dy.dtype(), dy.device());
  }
  ReducePlan plan = make_reduce_plan(dy.shape(), operand.shape(), other ? &other->shape() : nullptr);
  Tensor grad = Tensor::empty(operand.shape(), dy.dtype(), dy.device());
  if (other_grad) *other_grad = Tensor::empty(dy.shape(), dy.dtype(), dy.device());
  dispatch_floating(dy.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T* o = other ? other->data<T>() : nullptr;
    DMDLK_ON_DEVICE(dy.device(), reduce_broadcast, plan, grad.numel(), dy.data<T>(), o, grad.data<T>(),
                    other_grad ? operand.data<T>() : nullptr, other_grad ? other_grad->data<T>() : nullptr);
  });
  return grad;
}

// The operand a product's backward reduces while it writes the other's
// gradient in the same pass: the broadcast one where the other has dy's
// shape (b when both have it); -1 where neither has it (two passes).
int fused_product_operand(const Shape& out, const Shape& a, const Shape& b) {
  if (b == out) return 0;
  return a == out ? 1 : -1;
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
  BinaryGrads g;
  switch (fused_product_operand(dy.shape(), a.shape(), b.shape())) {
    case 0: g.da = reduce_to(dy, a, &b, &g.db); break;
    case 1: g.db = reduce_to(dy, b, &a, &g.da); break;
    default: g = {reduce_to(dy, a, &b), reduce_to(dy, b, &a)};
  }
  return g;
}

// ---- the graph's add and mul ------------------------------------------------------
namespace {

std::vector<Shape> binary_shape(const std::vector<Shape>& in, const OpAttrs&) {
  return {broadcast_shape(in[0], in[1], "graph")};
}

// Forward: one launch. Backward (as reduce_to): for add, a launch per
// operand that was broadcast; for mul, one where an operand has the result's
// shape (fused_product_operand), else one per operand.
template <BinaryOp op>
std::vector<cuda::LaunchPlan> binary_launches(const std::vector<Shape>& in, DType t, const OpAttrs&, Pass pass,
                                              WantedGrads) {
  Shape out = broadcast_shape(in[0], in[1], "graph");
  int64_t bytes = int64_t(dtype_size(t));
  if (pass == Pass::Forward)
    return {cuda_ops::plan_binary_forward(make_broadcast_plan(in[0], in[1], "graph"), shape_numel(out), bytes)};
  std::vector<cuda::LaunchPlan> plans;
  const bool product = op == BinaryOp::Mul;
  const int fused = product ? fused_product_operand(out, in[0], in[1]) : -1;
  for (int i = 0; i < 2; ++i) {
    if (!product && in[size_t(i)] == out) continue;
    if (fused >= 0 && i != fused) continue;
    const Shape& other = in[size_t(1 - i)];
    cuda::append(plans,
                 cuda_ops::plan_reduce_broadcast(make_reduce_plan(out, in[size_t(i)], product ? &other : nullptr),
                                                 shape_numel(in[size_t(i)]), product, bytes, fused >= 0));
  }
  return plans;
}

OpCost binary_cost(const std::vector<Shape>& in, const OpAttrs& a) {
  return {0, shapes_bytes({in[0], in[1], binary_shape(in, a)[0]})};
}

template <BinaryOp op>
Tensors binary_forward_op(const Tensors& in, const OpAttrs&) {
  return Tensors{op == BinaryOp::Add ? add(in[0], in[1]) : mul(in[0], in[1])};
}

template <BinaryOp op>
Tensors binary_backward_op(const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&, WantedGrads) {
  BinaryGrads g = op == BinaryOp::Add ? add_backward(d[0], in[0], in[1]) : mul_backward(d[0], in[0], in[1]);
  return Tensors{g.da, g.db};
}

// add's operand of the result's shape has dy itself as its gradient (reduce_to).
bool add_passes_gradient(const std::vector<Shape>& in, const OpAttrs&, size_t input) {
  return in[input] == broadcast_shape(in[0], in[1], "add");
}

// add and mul differ only in their kind, name and BinaryOp (constexpr: the
// definitions are constant-initialised, as the other ops' are).
template <BinaryOp op>
constexpr OpDef binary_op_def(OpKind kind, const char* name) {
  return OpDef{
      kind,
      name,
      no_attrs,
      binary_shape,
      binary_forward_op<op>,
      binary_backward_op<op>,
      binary_cost,
      binary_launches<op>,
      nullptr,
      op == BinaryOp::Add ? add_passes_gradient : nullptr,
  };
}

}  // namespace

extern const OpDef add_op = binary_op_def<BinaryOp::Add>(OpKind::Add, "add");
extern const OpDef mul_op = binary_op_def<BinaryOp::Mul>(OpKind::Mul, "mul");

}  // namespace dmdlk
