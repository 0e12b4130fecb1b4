// Bilinear ×2 upsampling and its gather-form gradient (ops/upsample.h).
#include "core/index_divisor.h"
#include "cuda_check.cuh"
#include "gpu/upsample.h"
#include "ops/backend.h"
#include "ops/upsample.h"

namespace dmdlk::cuda_ops {

namespace {

// `outputs` / `inputs`: the 2h × 2w output planes, the h × w input planes.
template <typename T>
__global__ void forward_kernel(int64_t planes, int64_t h, int64_t w, PlaneIndex outputs, const T* x, T* y) {
  int64_t n = planes * 4 * h * w;
  DMDLK_GRID_LOOP(i, n) {
    int64_t oy, ox;
    const int64_t p = outputs.split(i, oy, ox);
    y[i] = upsample2_at(x + p * h * w, h, w, oy, ox);
  }
}

template <typename T>
__global__ void backward_kernel(int64_t planes, int64_t h, int64_t w, PlaneIndex inputs, const T* dy, T* dx) {
  int64_t n = planes * h * w;
  DMDLK_GRID_LOOP(i, n) {
    int64_t y, x;
    const int64_t p = inputs.split(i, y, x);
    dx[i] = upsample2_grad_at(dy + p * 4 * h * w, h, w, y, x);
  }
}

}  // namespace

template <typename T>
void upsample2x_forward(int device, int64_t planes, int64_t h, int64_t w, const T* x, T* y) {
  launch(device, plan_upsample2x_forward(planes, h, w, sizeof(T)), forward_kernel<T>, planes, h, w,
         PlaneIndex::of(2 * h, 2 * w), x, y);
}

template <typename T>
void upsample2x_backward(int device, int64_t planes, int64_t h, int64_t w, const T* dy, T* dx) {
  launch(device, plan_upsample2x_backward(planes, h, w, sizeof(T)), backward_kernel<T>, planes, h, w,
         PlaneIndex::of(h, w), dy, dx);
}

#define INSTANTIATE(T)                                                               \
  template void upsample2x_forward<T>(int, int64_t, int64_t, int64_t, const T*, T*); \
  template void upsample2x_backward<T>(int, int64_t, int64_t, int64_t, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
