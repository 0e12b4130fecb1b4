// DDLK's deformable convolution on CUDA, directly: depthwise, one offset group,
// no mask (docs/configuration.md, offsets). One thread per output pixel of one (image,
// channel) plane, reading its k² sample points from the offsets: no column
// matrix (C·k²·H·W values per image) and no one-row GEMMs per channel, which is
// what the general path (deform_conv2d.cu + GEMM) costs for this form. The
// math is deform_conv2d.h's, shared with the CPU.
//   forward   y[n,c,p] = Σ_t w[c,t] · bilinear(x[n,c], point(n,t,p))
//   backward  dx by atomic scatter (sample corners are data-dependent); dweight
//             summed over each warp's pixels, then one atomic per warp and tap;
//             doffset by one thread per (image, tap, pixel) summing over the
//             channels, with no atomics.
#include "cuda_check.cuh"
#include "gpu/deform_conv2d.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

constexpr int kThreads = int(kDeformThreads);

template <typename T>
__device__ T warp_sum(T v) {
  for (int width = 16; width > 0; width /= 2) v += __shfl_down_sync(0xffffffffu, v, width);
  return v;
}

// Blocks: x over the pixels of a plane, y over the (image, channel) planes.
template <typename T>
__global__ void forward_kernel(DeformGeometry g, const T* x, const T* offset, const T* weight, T* y) {
  int64_t p = blockIdx.x * int64_t(kThreads) + threadIdx.x, plane = blockIdx.y;
  if (p >= g.pixels()) return;
  int64_t n = plane / g.channels, c = plane % g.channels;
  const T* image = x + plane * g.height * g.width;
  const T* image_offset = offset + n * 2 * g.taps() * g.pixels();
  T sum = 0;
  for (int64_t t = 0; t < g.taps(); ++t) {
    T py, px;
    deform_point(g, image_offset, 0, t, p, &py, &px);
    sum += weight[c * g.taps() + t] * deform_bilinear(image, g.height, g.width, py, px);
  }
  y[plane * g.pixels() + p] = sum;
}

// dx and dweight; the same blocks as the forward. Every thread of a warp
// takes part in the sums (those past the last pixel with zeros).
template <typename T>
__global__ void input_grads_kernel(DeformGeometry g, const T* x, const T* offset, const T* weight, const T* dy, T* dx,
                                   T* dweight) {
  int64_t p = blockIdx.x * int64_t(kThreads) + threadIdx.x, plane = blockIdx.y;
  bool active = p < g.pixels();
  int64_t n = plane / g.channels, c = plane % g.channels;
  const T* image = x + plane * g.height * g.width;
  T* image_dx = dx + plane * g.height * g.width;
  const T* image_offset = offset + n * 2 * g.taps() * g.pixels();
  T grad = active ? dy[plane * g.pixels() + p] : T(0);
  for (int64_t t = 0; t < g.taps(); ++t) {
    T sample = 0;
    if (active) {
      T py, px;
      deform_point(g, image_offset, 0, t, p, &py, &px);
      T weighted = weight[c * g.taps() + t] * grad;
      deform_scatter(g.height, g.width, py, px, [&](int64_t i, T w) { atomicAdd(image_dx + i, w * weighted); });
      sample = deform_bilinear(image, g.height, g.width, py, px);
    }
    T warp_total = warp_sum(grad * sample);
    if (threadIdx.x % 32 == 0) atomicAdd(dweight + c * g.taps() + t, warp_total);
  }
}

// doffset; blocks: x over the pixels, y over (image, tap).
template <typename T>
__global__ void offset_grads_kernel(DeformGeometry g, const T* x, const T* offset, const T* weight, const T* dy,
                                    T* doffset) {
  int64_t p = blockIdx.x * int64_t(kThreads) + threadIdx.x, n = blockIdx.y / g.taps(), t = blockIdx.y % g.taps();
  if (p >= g.pixels()) return;
  const T* image_offset = offset + n * 2 * g.taps() * g.pixels();
  T py, px;
  deform_point(g, image_offset, 0, t, p, &py, &px);
  T sum_y = 0, sum_x = 0;
  for (int64_t c = 0; c < g.channels; ++c) {
    int64_t plane = n * g.channels + c;
    T weighted = weight[c * g.taps() + t] * dy[plane * g.pixels() + p], gy, gx;
    deform_bilinear_grad(x + plane * g.height * g.width, g.height, g.width, py, px, &gy, &gx);
    sum_y += weighted * gy;
    sum_x += weighted * gx;
  }
  T* out = doffset + n * 2 * g.taps() * g.pixels() + 2 * t * g.pixels() + p;
  out[0] = sum_y;
  out[g.pixels()] = sum_x;
}

}  // namespace

template <typename T>
void deform_depthwise_forward(int device, const DeformGeometry& g, int64_t batch, const T* x, const T* offset,
                              const T* weight, T* y) {
  DMDLK_CHECK(batch * g.channels <= 65535, ErrorCode::InvalidArg, "deform_conv2d: ", batch, " images of ", g.channels,
              " channels exceed the CUDA grid");
  launch(device, plan_deform_depthwise_forward(g, batch, sizeof(T)), forward_kernel<T>, g, x, offset, weight, y);
}

template <typename T>
void deform_depthwise_backward(int device, const DeformGeometry& g, int64_t batch, const T* x, const T* offset,
                               const T* weight, const T* dy, T* dx, T* doffset, T* dweight) {
  DMDLK_CHECK(batch * g.channels <= 65535 && batch * g.taps() <= 65535, ErrorCode::InvalidArg,
              "deform_conv2d_backward: ", batch, " images of ", g.channels, " channels exceed the CUDA grid");
  std::vector<LaunchPlan> plans = plan_deform_depthwise_backward(g, batch, sizeof(T));
  launch(device, plans[0], input_grads_kernel<T>, g, x, offset, weight, dy, dx, dweight);
  launch(device, plans[1], offset_grads_kernel<T>, g, x, offset, weight, dy, doffset);
}

#define INSTANTIATE(T)                                                                                              \
  template void deform_depthwise_forward<T>(int, const DeformGeometry&, int64_t, const T*, const T*, const T*, T*); \
  template void deform_depthwise_backward<T>(int, const DeformGeometry&, int64_t, const T*, const T*, const T*,     \
                                             const T*, T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
