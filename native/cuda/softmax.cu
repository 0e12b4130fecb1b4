// Softmax over rows: one block of 256 threads per row (rows go up to H·W
// long for DMFF's spatial softmax), block reductions for the max and the sum.
#include "block_reduce.cuh"
#include "cuda_check.cuh"
#include "ops/softmax.h"

namespace dmdlk::cuda_ops {

namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void forward_kernel(int64_t n, const T* x, T* y) {
  const T* in = x + blockIdx.x * n;
  T* out = y + blockIdx.x * n;
  T m = -INFINITY;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) m = in[i] > m ? in[i] : m;
  m = block_max(m);
  T sum = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) sum += exp(in[i] - m);
  sum = block_sum(sum);
  for (int64_t i = threadIdx.x; i < n; i += kThreads) out[i] = exp(in[i] - m) / sum;
}

template <typename T>
__global__ void backward_kernel(int64_t n, const T* dy, const T* y, T* dx) {
  int64_t row = blockIdx.x * n;
  T dot = 0;
  for (int64_t i = threadIdx.x; i < n; i += kThreads) dot += dy[row + i] * y[row + i];
  dot = block_sum(dot);
  for (int64_t i = threadIdx.x; i < n; i += kThreads) dx[row + i] = y[row + i] * (dy[row + i] - dot);
}

}  // namespace

template <typename T>
void softmax_forward(int device, int64_t rows, int64_t n, const T* x, T* y) {
  DeviceGuard guard(device);
  forward_kernel<T><<<unsigned(rows), kThreads, 0, stream(device)>>>(n, x, y);
  check_launch(device, "softmax_forward");
}

template <typename T>
void softmax_backward(int device, int64_t rows, int64_t n, const T* dy, const T* y, T* dx) {
  DeviceGuard guard(device);
  backward_kernel<T><<<unsigned(rows), kThreads, 0, stream(device)>>>(n, dy, y, dx);
  check_launch(device, "softmax_backward");
}

template void softmax_forward<float>(int, int64_t, int64_t, const float*, float*);
template void softmax_forward<double>(int, int64_t, int64_t, const double*, double*);
template void softmax_backward<float>(int, int64_t, int64_t, const float*, const float*, float*);
template void softmax_backward<double>(int, int64_t, int64_t, const double*, const double*, double*);

}  // namespace dmdlk::cuda_ops
