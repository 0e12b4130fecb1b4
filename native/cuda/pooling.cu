// Pooling and channel reductions: one thread per output element forward, one
// per input element backward (gathers), over the shared math of ops/pooling.h.
#include "core/index_divisor.h"
#include "cuda_check.cuh"
#include "gpu/pooling.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void pool_forward_kernel(PoolKind kind, PoolGeometry g, PlaneIndex outputs, int64_t planes, const T* x,
                                    T* y) {
  DMDLK_GRID_LOOP(i, planes * g.out_h * g.out_w) {
    int64_t oy, ox;
    const int64_t p = outputs.split(i, oy, ox);
    const T* plane = x + p * g.height * g.width;
    y[i] = kind == PoolKind::Avg ? avg_pool_at(g, plane, oy, ox) : plane[max_pool_argmax(g, plane, oy, ox)];
  }
}

template <typename T>
__global__ void pool_backward_kernel(PoolKind kind, PoolGeometry g, PlaneIndex inputs, int64_t planes, const T* x,
                                     const T* dy, bool accumulate, T* dx) {
  DMDLK_GRID_LOOP(i, planes * g.height * g.width) {
    int64_t y, xx;
    const int64_t p = inputs.split(i, y, xx);
    const T *plane = x + p * g.height * g.width, *dy_plane = dy + p * g.out_h * g.out_w;
    T grad = kind == PoolKind::Avg ? avg_pool_grad_at(g, dy_plane, y, xx) : max_pool_grad_at(g, plane, dy_plane, y, xx);
    dx[i] = accumulate ? dx[i] + grad : grad;
  }
}

template <typename T>
__global__ void global_avg_backward_kernel(int64_t planes, IndexDivisor size, const T* dy, bool accumulate, T* dx) {
  DMDLK_GRID_LOOP(i, planes * size.d) {
    T grad = dy[size.divide(i)] / T(size.d);
    dx[i] = accumulate ? dx[i] + grad : grad;
  }
}

// The better of two candidates for a pixel's channel maximum: NaN first, then
// the larger value, then the lower channel (the rule of ops/pooling.h).
template <typename T>
__device__ bool better(T v, int64_t k, T best, int64_t best_k) {
  bool v_nan = v != v, best_nan = best != best;
  if (v_nan != best_nan) return v_nan;
  if (!v_nan && v != best) return v > best;
  return k < best_k;
}

// Pixel i of this block's 32 and this thread's share of its channels, then
// the block's combination: the mean's sum, or the maximum and its channel.
template <typename T>
__device__ void reduce_pixel_channels(int64_t c, IndexDivisor hw, const T* x, int64_t pixel, bool valid, double* sum,
                                      T* best, int64_t* best_k) {
  __shared__ double sums[kMaxChannelGroups][kChannelPixels];
  __shared__ T bests[kMaxChannelGroups][kChannelPixels];
  __shared__ int64_t best_ks[kMaxChannelGroups][kChannelPixels];
  int64_t p;
  const int64_t b = hw.divide(pixel, p);
  double s = 0;
  T m = T(0);
  int64_t mk = -1;
  if (valid)
    for (int64_t k = threadIdx.y; k < c; k += blockDim.y) {
      T v = x[(b * c + k) * hw.d + p];
      s += v;
      if (mk < 0 || better(v, k, m, mk)) m = v, mk = k;
    }
  sums[threadIdx.y][threadIdx.x] = s, bests[threadIdx.y][threadIdx.x] = m, best_ks[threadIdx.y][threadIdx.x] = mk;
  __syncthreads();
  s = sums[0][threadIdx.x], m = bests[0][threadIdx.x], mk = best_ks[0][threadIdx.x];
  for (unsigned g = 1; g < blockDim.y; ++g) {
    s += sums[g][threadIdx.x];
    int64_t k = best_ks[g][threadIdx.x];
    if (k >= 0 && (mk < 0 || better(bests[g][threadIdx.x], k, m, mk))) m = bests[g][threadIdx.x], mk = k;
  }
  *sum = s, *best = m, *best_k = mk;
}

template <typename T>
__global__ void __launch_bounds__(kChannelPixels* kMaxChannelGroups)
    channel_reduce_forward_kernel(ChannelReduce kind, int64_t n, int64_t c, IndexDivisor plane, const T* x, T* y) {
  const int64_t pixel = blockIdx.x * kChannelPixels + threadIdx.x, hw = plane.d;
  const bool valid = pixel < n * hw;
  double sum;
  T best;
  int64_t best_k;
  reduce_pixel_channels(c, plane, x, pixel, valid, &sum, &best, &best_k);
  if (!valid || threadIdx.y != 0) return;
  int64_t p;
  const int64_t b = plane.divide(pixel, p), outputs = reduced_channels(kind);
  T* out = y + b * outputs * hw + p;  // the mean's channel, then the maximum's
  if (kind != ChannelReduce::Max) out[0] = T(sum / double(c));
  if (kind != ChannelReduce::Mean) out[kind == ChannelReduce::Max ? 0 : hw] = best;
}

template <typename T>
__global__ void __launch_bounds__(kChannelPixels* kMaxChannelGroups)
    channel_reduce_backward_kernel(ChannelReduce kind, int64_t n, int64_t c, IndexDivisor plane, const T* x,
                                   const T* dy, bool accumulate, T* dx) {
  const int64_t pixel = blockIdx.x * kChannelPixels + threadIdx.x, hw = plane.d;
  const bool valid = pixel < n * hw;
  double sum;
  T best;
  int64_t winner = -1;
  if (kind != ChannelReduce::Mean) reduce_pixel_channels(c, plane, x, pixel, valid, &sum, &best, &winner);
  if (!valid) return;
  int64_t p;
  const int64_t b = plane.divide(pixel, p);
  const T* d = dy + b * reduced_channels(kind) * hw + p;
  const T g_mean = kind == ChannelReduce::Max ? T(0) : d[0] / T(c);
  const T g_max = kind == ChannelReduce::Mean ? T(0) : d[kind == ChannelReduce::Max ? 0 : hw];
  for (int64_t k = threadIdx.y; k < c; k += blockDim.y) {
    T& at = dx[(b * c + k) * hw + p];
    T grad = g_mean + (k == winner ? g_max : T(0));
    at = accumulate ? at + grad : grad;
  }
}

}  // namespace

template <typename T>
void pool2d_forward(int device, PoolKind kind, const PoolGeometry& g, int64_t planes, const T* x, T* y) {
  if (planes * g.out_h * g.out_w == 0) return;
  launch(device, plan_pool2d_forward(g, planes, sizeof(T)), pool_forward_kernel<T>, kind, g,
         PlaneIndex::of(g.out_h, g.out_w), planes, x, y);
}

template <typename T>
void pool2d_backward(int device, PoolKind kind, const PoolGeometry& g, int64_t planes, const T* x, const T* dy,
                     bool accumulate, T* dx) {
  if (planes * g.height * g.width == 0) return;
  launch(device, plan_pool2d_backward(kind, g, planes, sizeof(T)), pool_backward_kernel<T>, kind, g,
         PlaneIndex::of(g.height, g.width), planes, x, dy, accumulate, dx);
}

template <typename T>
void global_avg_pool_forward(int device, int64_t planes, int64_t size, const T* x, T* y) {
  if (planes == 0) return;
  channel_sum<T>(device, "global_avg_pool_forward", ChannelLayout{1, planes, size}, x, nullptr, nullptr, double(size),
                 y);
}

template <typename T>
void global_avg_pool_backward(int device, int64_t planes, int64_t size, const T* dy, bool accumulate, T* dx) {
  if (planes * size == 0) return;
  launch(device, plan_global_avg_pool_backward(planes, size, sizeof(T)), global_avg_backward_kernel<T>, planes,
         IndexDivisor::of(size), dy, accumulate, dx);
}

template <typename T>
void channel_reduce_forward(int device, ChannelReduce kind, int64_t n, int64_t c, int64_t hw, const T* x, T* y) {
  if (n * hw == 0) return;
  launch(device, plan_channel_reduce_forward(n, c, hw, sizeof(T)), channel_reduce_forward_kernel<T>, kind, n, c,
         IndexDivisor::of(hw), x, y);
}

template <typename T>
void channel_reduce_backward(int device, ChannelReduce kind, int64_t n, int64_t c, int64_t hw, const T* x, const T* dy,
                             bool accumulate, T* dx) {
  if (n * hw == 0) return;
  launch(device, plan_channel_reduce_backward(kind, n, c, hw, sizeof(T)), channel_reduce_backward_kernel<T>, kind, n, c,
         IndexDivisor::of(hw), x, dy, accumulate, dx);
}

#define INSTANTIATE(T)                                                                                         \
  template void pool2d_forward<T>(int, PoolKind, const PoolGeometry&, int64_t, const T*, T*);                  \
  template void pool2d_backward<T>(int, PoolKind, const PoolGeometry&, int64_t, const T*, const T*, bool, T*); \
  template void global_avg_pool_forward<T>(int, int64_t, int64_t, const T*, T*);                               \
  template void global_avg_pool_backward<T>(int, int64_t, int64_t, const T*, bool, T*);                        \
  template void channel_reduce_forward<T>(int, ChannelReduce, int64_t, int64_t, int64_t, const T*, T*);        \
  template void channel_reduce_backward<T>(int, ChannelReduce, int64_t, int64_t, int64_t, const T*, const T*, bool, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
