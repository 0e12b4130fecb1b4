// Point-wise activations over the shared math of ops/activation.h.
#include "cuda_check.cuh"
#include "gpu/activation.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void forward_kernel(Activation a, int64_t n, const T* x, T* y) {
  DMDLK_GRID_LOOP(i, n) y[i] = activate(a, x[i]);
}

template <typename T>
__global__ void backward_kernel(Activation a, int64_t n, const T* dy, const T* x, T* dx) {
  DMDLK_GRID_LOOP(i, n) dx[i] = dy[i] * activate_grad(a, x[i]);
}

}  // namespace

template <typename T>
void activation_forward(int device, Activation a, int64_t n, const T* x, T* y) {
  if (n == 0) return;
  launch(device, plan_activation_forward(n, sizeof(T)), forward_kernel<T>, a, n, x, y);
}

template <typename T>
void activation_backward(int device, Activation a, int64_t n, const T* dy, const T* x, T* dx) {
  if (n == 0) return;
  launch(device, plan_activation_backward(n, sizeof(T)), backward_kernel<T>, a, n, dy, x, dx);
}

#define INSTANTIATE(T)                                                         \
  template void activation_forward<T>(int, Activation, int64_t, const T*, T*); \
  template void activation_backward<T>(int, Activation, int64_t, const T*, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
