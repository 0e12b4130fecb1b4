// Bilinear ×2 upsampling and its gather-form gradient (ops/upsample.h).
#include "cuda_check.cuh"
#include "gpu/upsample.h"
#include "ops/backend.h"
#include "ops/upsample.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void forward_kernel(int64_t planes, int64_t h, int64_t w, const T* x, T* y) {
  int64_t n = planes * 4 * h * w;
  DMDLK_GRID_LOOP(i, n) {
    int64_t ox = i % (2 * w), oy = (i / (2 * w)) % (2 * h), p = i / (4 * h * w);
    y[i] = upsample2_at(x + p * h * w, h, w, oy, ox);
  }
}

template <typename T>
__global__ void backward_kernel(int64_t planes, int64_t h, int64_t w, const T* dy, T* dx) {
  int64_t n = planes * h * w;
  DMDLK_GRID_LOOP(i, n) {
    int64_t x = i % w, y = (i / w) % h, p = i / (h * w);
    dx[i] = upsample2_grad_at(dy + p * 4 * h * w, h, w, y, x);
  }
}

}  // namespace

template <typename T>
void upsample2x_forward(int device, int64_t planes, int64_t h, int64_t w, const T* x, T* y) {
  launch(device, plan_upsample2x_forward(planes, h, w, sizeof(T)), forward_kernel<T>, planes, h, w, x, y);
}

template <typename T>
void upsample2x_backward(int device, int64_t planes, int64_t h, int64_t w, const T* dy, T* dx) {
  launch(device, plan_upsample2x_backward(planes, h, w, sizeof(T)), backward_kernel<T>, planes, h, w, dy, dx);
}

#define INSTANTIATE(T)                                                               \
  template void upsample2x_forward<T>(int, int64_t, int64_t, int64_t, const T*, T*); \
  template void upsample2x_backward<T>(int, int64_t, int64_t, int64_t, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
