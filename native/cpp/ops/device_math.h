// Backend-neutral entry points for the building blocks that composite ops
// (linear, matmul, convolution) share: each picks the CPU or CUDA kernel by
// the tensors' device. The composite ops are then written once.
#pragma once
#include "core/tensor.h"
#include "ops/bias.h"
#include "ops/gemm.h"

namespace dmdlk {

template <typename T>
void gemm(Device d, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c);
template <typename T>
void add_bias(Device d, const ChannelLayout& l, const T* bias, T* y);
template <typename T>
void bias_grad(Device d, const ChannelLayout& l, const T* dy, T* grad);

}  // namespace dmdlk
