// Sum and max over the threads of a block (blockDim.x a power of two, at most
// 1024): a shared-memory tree, deterministic for a given launch shape.
#pragma once

namespace dmdlk::cuda_ops {

template <typename T, typename Op>
__device__ T block_reduce(T value, Op op) {
  __shared__ double scratch[1024];  // double: wide enough for both float and double
  scratch[threadIdx.x] = double(value);
  __syncthreads();
  for (unsigned width = blockDim.x / 2; width > 0; width /= 2) {
    if (threadIdx.x < width) scratch[threadIdx.x] = op(scratch[threadIdx.x], scratch[threadIdx.x + width]);
    __syncthreads();
  }
  T result = T(scratch[0]);
  __syncthreads();  // scratch is reused by the next call
  return result;
}

struct SumOp {
  __device__ double operator()(double a, double b) const { return a + b; }
};
struct MaxOp {
  __device__ double operator()(double a, double b) const { return a > b ? a : b; }
};

template <typename T>
__device__ T block_sum(T v) {
  return block_reduce(v, SumOp{});
}
template <typename T>
__device__ T block_max(T v) {
  return block_reduce(v, MaxOp{});
}

}  // namespace dmdlk::cuda_ops
