// Batched matrix product and the linear layer.
//   matmul: a [..., M, K] · b [..., K, N] -> [..., M, N]. The batch axes of a
//           and b must be equal, or one operand is 2-D and shared by all.
//   linear: x [..., in] · wᵀ + bias, w [out, in], bias [out] (optional).
#pragma once
#include "core/tensor.h"

namespace dmdlk {

Tensor matmul(const Tensor& a, const Tensor& b);
struct MatmulGrads {
  Tensor da, db;
};
MatmulGrads matmul_backward(const Tensor& dy, const Tensor& a, const Tensor& b);

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);
struct LinearGrads {
  Tensor dx, dweight, dbias;  // dbias undefined when there is no bias
};
// Where `dx_into` is given (a gradient x already has, of x's shape), dx is
// added into it in place and it is returned as dx (graph.cpp: a value read twice).
LinearGrads linear_backward(const Tensor& dy, const Tensor& x, const Tensor& weight, bool has_bias,
                            const Tensor& dx_into = Tensor());

}  // namespace dmdlk
