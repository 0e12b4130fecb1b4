// Bilinear ×2 upsampling and its gather-form gradient (ops/upsample.h).
#include "cuda_check.cuh"
#include "ops/upsample.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void forward_kernel(int64_t planes, int64_t h, int64_t w, const T* x, T* y) {
  int64_t n = planes * 4 * h * w;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t ox = i % (2 * w), oy = (i / (2 * w)) % (2 * h), p = i / (4 * h * w);
    y[i] = upsample2_at(x + p * h * w, h, w, oy, ox);
  }
}

template <typename T>
__global__ void backward_kernel(int64_t planes, int64_t h, int64_t w, const T* dy, T* dx) {
  int64_t n = planes * h * w;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t x = i % w, y = (i / w) % h, p = i / (h * w);
    dx[i] = upsample2_grad_at(dy + p * 4 * h * w, h, w, y, x);
  }
}

}  // namespace

template <typename T>
void upsample2x_forward(int device, int64_t planes, int64_t h, int64_t w, const T* x, T* y) {
  DeviceGuard guard(device);
  forward_kernel<T><<<blocks_for(planes * 4 * h * w), 256, 0, stream(device)>>>(planes, h, w, x, y);
  check_launch(device, "upsample2x_forward");
}

template <typename T>
void upsample2x_backward(int device, int64_t planes, int64_t h, int64_t w, const T* dy, T* dx) {
  DeviceGuard guard(device);
  backward_kernel<T><<<blocks_for(planes * h * w), 256, 0, stream(device)>>>(planes, h, w, dy, dx);
  check_launch(device, "upsample2x_backward");
}

template void upsample2x_forward<float>(int, int64_t, int64_t, int64_t, const float*, float*);
template void upsample2x_forward<double>(int, int64_t, int64_t, int64_t, const double*, double*);
template void upsample2x_backward<float>(int, int64_t, int64_t, int64_t, const float*, float*);
template void upsample2x_backward<double>(int, int64_t, int64_t, int64_t, const double*, double*);

}  // namespace dmdlk::cuda_ops
