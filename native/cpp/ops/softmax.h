// Softmax over the last axis: rows of n values, y = exp(x − max) / Σ exp.
// Softmax over H·W is the same op on an [N, C, H·W] view. The backward uses
// the output: dx = y ⊙ (dy − Σ dy ⊙ y).
#pragma once
#include "core/tensor.h"

namespace dmdlk {

Tensor softmax(const Tensor& x);
Tensor softmax_backward(const Tensor& dy, const Tensor& y);

namespace cuda_ops {
template <typename T>
void softmax_forward(int device, int64_t rows, int64_t n, const T* x, T* y);
template <typename T>
void softmax_backward(int device, int64_t rows, int64_t n, const T* dy, const T* y, T* dx);
}  // namespace cuda_ops

}  // namespace dmdlk
