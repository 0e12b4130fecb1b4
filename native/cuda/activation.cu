// Point-wise activations over the shared math of ops/activation.h.
#include "cuda_check.cuh"
#include "ops/activation.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void forward_kernel(Activation a, int64_t n, const T* x, T* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = activate(a, x[i]);
}

template <typename T>
__global__ void backward_kernel(Activation a, int64_t n, const T* dy, const T* x, T* dx) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    dx[i] = dy[i] * activate_grad(a, x[i]);
}

}  // namespace

template <typename T>
void activation_forward(int device, Activation a, int64_t n, const T* x, T* y) {
  if (n == 0) return;
  DeviceGuard guard(device);
  forward_kernel<T><<<blocks_for(n), 256, 0, stream(device)>>>(a, n, x, y);
  check_launch(device, "activation_forward");
}

template <typename T>
void activation_backward(int device, Activation a, int64_t n, const T* dy, const T* x, T* dx) {
  if (n == 0) return;
  DeviceGuard guard(device);
  backward_kernel<T><<<blocks_for(n), 256, 0, stream(device)>>>(a, n, dy, x, dx);
  check_launch(device, "activation_backward");
}

template void activation_forward<float>(int, Activation, int64_t, const float*, float*);
template void activation_forward<double>(int, Activation, int64_t, const double*, double*);
template void activation_backward<float>(int, Activation, int64_t, const float*, const float*, float*);
template void activation_backward<double>(int, Activation, int64_t, const double*, const double*, double*);

}  // namespace dmdlk::cuda_ops
