// DDLK's deformable convolution on CUDA, directly: depthwise, one offset
// group, no mask. What each thread computes is gpu/deform_depthwise.h's
// (shared with test_deform_tiles, which runs it on the CPU); here are the
// blocks around it: the forward's pixels and channel chunks, the backward's
// tiles with their shared-memory halo, the warps' dweight sums and the
// atomics that take a block's sums to global memory.
#include <cub/warp/warp_reduce.cuh>

#include "cuda_check.cuh"
#include "gpu/deform_depthwise.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

constexpr int kWarps = int(kDeformThreads) / 32;

// What a sample's corners outside the image read (DeformCorners).
template <typename T>
__device__ const T kZero = T(0);

// Blocks: x over the pixels of an image, y over the images, z over chunks of
// `chunk` channels (deform_forward_chunk).
template <typename T>
__global__ void forward_kernel(DeformGeometry g, int64_t chunk, const T* x, const T* offset, const T* weight, T* y) {
  int64_t p = blockIdx.x * int64_t(kDeformThreads) + threadIdx.x, n = blockIdx.y;
  if (p >= g.pixels()) return;
  int64_t c0 = blockIdx.z * chunk, c1 = min(g.channels, c0 + chunk);
  deform_forward_pixel(g, p, c0, c1, x + n * g.channels * g.height * g.width, offset + n * 2 * g.taps() * g.pixels(),
                       weight, y + n * g.channels * g.pixels(), &kZero<T>);
}

// Where a backward thread's sums go (deform_backward_pixel's sink): the
// block's halo and dweight sums in shared memory, dx and doffset in global
// memory, all by atomic adds (other threads of the block, and other blocks,
// add to the same places).
template <typename T>
struct BlockSink {
  using WarpSum = cub::WarpReduce<T>;
  T *halo_sums, *dweight_sums, *dx, *doffset;
  int32_t halo_cells, taps;
  typename WarpSum::TempStorage* warp_storage;
  __device__ void halo_add(int k, int32_t cell, T v) { atomicAdd(halo_sums + k * halo_cells + cell, v); }
  __device__ void dx_add(int64_t i, T v) { atomicAdd(dx + i, v); }
  __device__ void doffset_add(int64_t i, T v) { atomicAdd(doffset + i, v); }
  __device__ void dweight_add(int k, int64_t t, T v) {
    T total = WarpSum(warp_storage[threadIdx.x / 32]).Sum(v);
    if (threadIdx.x % 32 == 0) atomicAdd(dweight_sums + k * taps + t, total);
  }
};

// Blocks: x over the output tiles of an image, y over the images, z over groups of channels.
template <typename T>
__global__ void backward_kernel(DeformGeometry g, DeformTiles tiles, const T* x, const T* offset, const T* weight,
                                const T* dy, T* dx, T* doffset, T* dweight) {
  extern __shared__ __align__(16) unsigned char shared[];
  __shared__ typename cub::WarpReduce<T>::TempStorage warp_storage[kWarps];
  int64_t n = blockIdx.y, ty = blockIdx.x / uint32_t(tiles.tiles_x), tx = blockIdx.x - ty * tiles.tiles_x;  // 32 bits
  int64_t oy = ty * kDeformTile + threadIdx.x / kDeformTile, ox = tx * kDeformTile + threadIdx.x % kDeformTile;
  bool active = oy < g.out_h && ox < g.out_w;
  int64_t row0, col0, plane = g.height * g.width, cells = tiles.halo_cells() * kBackwardChannels;
  deform_halo_origin(g, ty, tx, &row0, &col0);
  T* halo_sums = reinterpret_cast<T*>(shared);
  T* dweight_sums = halo_sums + cells;
  int64_t dweights = kBackwardChannels * g.taps();
  for (int64_t i = threadIdx.x; i < cells + dweights; i += blockDim.x) halo_sums[i] = T(0);
  const T *xn = x + n * g.channels * plane, *dyn = dy + n * g.channels * g.pixels();
  T* dxn = dx + n * g.channels * plane;
  BlockSink<T> sink{
      halo_sums,         dweight_sums, dxn, doffset + n * 2 * g.taps() * g.pixels(), int32_t(tiles.halo_cells()),
      int32_t(g.taps()), warp_storage};
  int64_t group_end = min(g.channels, (blockIdx.z + 1) * tiles.channels_per_group);
  for (int64_t c0 = blockIdx.z * tiles.channels_per_group; c0 < group_end; c0 += kBackwardChannels) {
    int64_t c1 = min(group_end, c0 + kBackwardChannels);
    __syncthreads();  // the halo and dweight sums are zero
    deform_backward_pixel(g, tiles, row0, col0, oy, ox, active, c0, c1, xn, offset + n * 2 * g.taps() * g.pixels(),
                          weight, dyn, &kZero<T>, sink);
    __syncthreads();  // every thread's sums are in
    for (int64_t k = 0; k < c1 - c0; ++k)
      for (int64_t cell = threadIdx.x; cell < tiles.halo_cells(); cell += blockDim.x) {
        T& sum = halo_sums[k * tiles.halo_cells() + cell];
        int64_t pixel = deform_halo_pixel(g, tiles, row0, col0, cell);
        if (pixel >= 0 && sum != T(0)) atomicAdd(dxn + (c0 + k) * plane + pixel, sum);
        sum = T(0);
      }
    for (int64_t i = threadIdx.x; i < (c1 - c0) * g.taps(); i += blockDim.x) {
      atomicAdd(dweight + c0 * g.taps() + i, dweight_sums[i]);
      dweight_sums[i] = T(0);
    }
  }
}

}  // namespace

template <typename T>
void deform_depthwise_forward(int device, const DeformGeometry& g, int64_t batch, const T* x, const T* offset,
                              const T* weight, T* y) {
  int64_t chunk = deform_forward_chunk(g, batch);
  DMDLK_CHECK(batch <= 65535 && (g.channels + chunk - 1) / chunk <= 65535, ErrorCode::InvalidArg,
              "deform_conv2d: ", batch, " images of ", g.channels, " channels exceed the CUDA grid");
  launch(device, plan_deform_depthwise_forward(g, batch, sizeof(T)), forward_kernel<T>, g, chunk, x, offset, weight, y);
}

template <typename T>
void deform_depthwise_backward(int device, const DeformGeometry& g, int64_t batch, const T* x, const T* offset,
                               const T* weight, const T* dy, T* dx, T* doffset, T* dweight) {
  DMDLK_CHECK(batch <= 65535, ErrorCode::InvalidArg, "deform_conv2d_backward: a batch of ", batch,
              " images exceeds the CUDA grid");
  launch(device, plan_deform_depthwise_backward(g, batch, sizeof(T)), backward_kernel<T>, g,
         deform_tiles(g, batch, sizeof(T)), x, offset, weight, dy, dx, doffset, dweight);
}

#define INSTANTIATE(T)                                                                                              \
  template void deform_depthwise_forward<T>(int, const DeformGeometry&, int64_t, const T*, const T*, const T*, T*); \
  template void deform_depthwise_backward<T>(int, const DeformGeometry&, int64_t, const T*, const T*, const T*,     \
                                             const T*, T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
