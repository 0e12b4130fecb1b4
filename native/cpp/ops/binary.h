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

}  // namespace dmdlk
