// Softmax over rows: one block of 256 threads per row (rows go up to H·W
// long for DMFF's spatial softmax), block reductions for the max and the sum.
#include "block_reduce.cuh"
#include "cuda/softmax.cuh"
#include "cuda_check.cuh"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void forward_kernel(int64_t n, const T* x, T* y) {
  const T* in = x + blockIdx.x * n;
  T* out = y + blockIdx.x * n;
  T m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += kSoftmaxThreads) m = in[i] > m ? in[i] : m;
  m = block_max(m);
  T sum = 0;
  for (int64_t i = threadIdx.x; i < n; i += kSoftmaxThreads) sum += exp(in[i] - m);
  sum = block_sum(sum);
  for (int64_t i = threadIdx.x; i < n; i += kSoftmaxThreads) out[i] = exp(in[i] - m) / sum;
}

template <typename T>
__global__ void backward_kernel(int64_t n, const T* dy, const T* y, T* dx) {
  int64_t row = blockIdx.x * n;
  T dot = 0;
  for (int64_t i = threadIdx.x; i < n; i += kSoftmaxThreads) dot += dy[row + i] * y[row + i];
  dot = block_sum(dot);
  for (int64_t i = threadIdx.x; i < n; i += kSoftmaxThreads) dx[row + i] = y[row + i] * (dy[row + i] - dot);
}

}  // namespace

template <typename T>
void softmax_forward(int device, int64_t rows, int64_t n, const T* x, T* y) {
  launch(device, plan_softmax_forward(rows, n, sizeof(T)), forward_kernel<T>, n, x, y);
}

template <typename T>
void softmax_backward(int device, int64_t rows, int64_t n, const T* dy, const T* y, T* dx) {
  launch(device, plan_softmax_backward(rows, n, sizeof(T)), backward_kernel<T>, n, dy, y, dx);
}

#define INSTANTIATE(T)                                                   \
  template void softmax_forward<T>(int, int64_t, int64_t, const T*, T*); \
  template void softmax_backward<T>(int, int64_t, int64_t, const T*, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
