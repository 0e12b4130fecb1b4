// im2col and its gather-form adjoint, one thread per element, over the shared
// per-element functions of ops/im2col.h.
#include "cuda/conv2d.cuh"
#include "cuda_check.cuh"
#include "ops/backend.h"
#include "ops/im2col.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void im2col_kernel(ConvGeometry g, const T* x, T* col) {
  int64_t cols = g.col_cols(), n = g.col_rows() * cols;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x)
    col[e] = im2col_at(g, x, e / cols, e % cols);
}

template <typename T>
__global__ void col2im_kernel(ConvGeometry g, const T* dcol, T* dx) {
  int64_t n = g.channels * g.height * g.width;
  for (int64_t e = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; e < n; e += int64_t(gridDim.x) * blockDim.x) {
    int64_t x = e % g.width, y = (e / g.width) % g.height, c = e / (g.width * g.height);
    dx[e] = col2im_at(g, dcol, c, y, x);
  }
}

}  // namespace

template <typename T>
void im2col(int device, const ConvGeometry& g, const T* x, T* col) {
  launch(device, plan_im2col(g, sizeof(T)), im2col_kernel<T>, g, x, col);
}

template <typename T>
void col2im(int device, const ConvGeometry& g, const T* dcol, T* dx) {
  launch(device, plan_col2im(g, sizeof(T)), col2im_kernel<T>, g, dcol, dx);
}

#define INSTANTIATE(T)                                             \
  template void im2col<T>(int, const ConvGeometry&, const T*, T*); \
  template void col2im<T>(int, const ConvGeometry&, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
