// Pooling and channel reductions: one thread per output element forward, one
// per input element backward (gathers), over the shared math of ops/pooling.h.
#include "block_reduce.cuh"
#include "cuda/pooling.cuh"
#include "cuda_check.cuh"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

#define DMDLK_GRID_LOOP(i, n) \
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < (n); i += int64_t(gridDim.x) * blockDim.x)

template <typename T>
__global__ void pool_forward_kernel(PoolKind kind, PoolGeometry g, int64_t planes, const T* x, T* y) {
  DMDLK_GRID_LOOP(i, planes * g.out_h * g.out_w) {
    int64_t ox = i % g.out_w, oy = (i / g.out_w) % g.out_h, p = i / (g.out_w * g.out_h);
    const T* plane = x + p * g.height * g.width;
    y[i] = kind == PoolKind::Avg ? avg_pool_at(g, plane, oy, ox) : plane[max_pool_argmax(g, plane, oy, ox)];
  }
}

template <typename T>
__global__ void pool_backward_kernel(PoolKind kind, PoolGeometry g, int64_t planes, const T* x, const T* dy, T* dx) {
  DMDLK_GRID_LOOP(i, planes * g.height * g.width) {
    int64_t xx = i % g.width, y = (i / g.width) % g.height, p = i / (g.width * g.height);
    const T *plane = x + p * g.height * g.width, *dy_plane = dy + p * g.out_h * g.out_w;
    dx[i] = kind == PoolKind::Avg ? avg_pool_grad_at(g, dy_plane, y, xx) : max_pool_grad_at(g, plane, dy_plane, y, xx);
  }
}

template <typename T>
__global__ void global_avg_forward_kernel(int64_t size, const T* x, T* y) {
  const T* plane = x + blockIdx.x * size;
  double sum = 0;
  for (int64_t i = threadIdx.x; i < size; i += blockDim.x) sum += plane[i];
  sum = block_sum(sum);
  if (threadIdx.x == 0) y[blockIdx.x] = T(sum / size);
}

template <typename T>
__global__ void global_avg_backward_kernel(int64_t planes, int64_t size, const T* dy, T* dx) {
  DMDLK_GRID_LOOP(i, planes * size) dx[i] = dy[i / size] / T(size);
}

template <typename T>
__global__ void channel_reduce_forward_kernel(ChannelReduce kind, int64_t n, int64_t c, int64_t hw, const T* x, T* y) {
  DMDLK_GRID_LOOP(i, n * hw) y[i] = channel_reduce_at(kind, x, c, hw, i / hw, i % hw);
}

template <typename T>
__global__ void channel_reduce_backward_kernel(ChannelReduce kind, int64_t n, int64_t c, int64_t hw, const T* x,
                                               const T* dy, T* dx) {
  DMDLK_GRID_LOOP(i, n * hw) channel_reduce_grad_at(kind, x, dy[i], c, hw, i / hw, i % hw, dx);
}

}  // namespace

template <typename T>
void pool2d_forward(int device, PoolKind kind, const PoolGeometry& g, int64_t planes, const T* x, T* y) {
  if (planes * g.out_h * g.out_w == 0) return;
  launch(device, plan_pool2d_forward(g, planes, sizeof(T)), pool_forward_kernel<T>, kind, g, planes, x, y);
}

template <typename T>
void pool2d_backward(int device, PoolKind kind, const PoolGeometry& g, int64_t planes, const T* x, const T* dy, T* dx) {
  if (planes * g.height * g.width == 0) return;
  launch(device, plan_pool2d_backward(kind, g, planes, sizeof(T)), pool_backward_kernel<T>, kind, g, planes, x, dy, dx);
}

template <typename T>
void global_avg_pool_forward(int device, int64_t planes, int64_t size, const T* x, T* y) {
  if (planes == 0) return;
  launch(device, plan_global_avg_pool_forward(planes, size, sizeof(T)), global_avg_forward_kernel<T>, size, x, y);
}

template <typename T>
void global_avg_pool_backward(int device, int64_t planes, int64_t size, const T* dy, T* dx) {
  if (planes * size == 0) return;
  launch(device, plan_global_avg_pool_backward(planes, size, sizeof(T)), global_avg_backward_kernel<T>, planes, size,
         dy, dx);
}

template <typename T>
void channel_reduce_forward(int device, ChannelReduce kind, int64_t n, int64_t c, int64_t hw, const T* x, T* y) {
  if (n * hw == 0) return;
  launch(device, plan_channel_reduce_forward(n, c, hw, sizeof(T)), channel_reduce_forward_kernel<T>, kind, n, c, hw, x,
         y);
}

template <typename T>
void channel_reduce_backward(int device, ChannelReduce kind, int64_t n, int64_t c, int64_t hw, const T* x, const T* dy,
                             T* dx) {
  if (n * hw == 0) return;
  launch(device, plan_channel_reduce_backward(kind, n, c, hw, sizeof(T)), channel_reduce_backward_kernel<T>, kind, n, c,
         hw, x, dy, dx);
}

#define INSTANTIATE(T)                                                                                   \
  template void pool2d_forward<T>(int, PoolKind, const PoolGeometry&, int64_t, const T*, T*);            \
  template void pool2d_backward<T>(int, PoolKind, const PoolGeometry&, int64_t, const T*, const T*, T*); \
  template void global_avg_pool_forward<T>(int, int64_t, int64_t, const T*, T*);                         \
  template void global_avg_pool_backward<T>(int, int64_t, int64_t, const T*, T*);                        \
  template void channel_reduce_forward<T>(int, ChannelReduce, int64_t, int64_t, int64_t, const T*, T*);  \
  template void channel_reduce_backward<T>(int, ChannelReduce, int64_t, int64_t, int64_t, const T*, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
