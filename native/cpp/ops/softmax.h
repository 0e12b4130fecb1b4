// Softmax over the last axis: rows of n values, y = exp(x − max) / Σ exp.
// Softmax over H·W is the same op on an [N, C, H·W] view. The backward uses
// the output: dx = y ⊙ (dy − Σ dy ⊙ y).
#pragma once
#include "core/tensor.h"

namespace dmdlk {

Tensor softmax(const Tensor& x);
Tensor softmax_backward(const Tensor& dy, const Tensor& y);

}  // namespace dmdlk
