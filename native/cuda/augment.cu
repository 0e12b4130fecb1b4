// Data preparation and augmentation kernels (data/augment.h): the per-pixel
// math is the header's, shared with the CPU.
#include <cub/block/block_reduce.cuh>

#include "core/index_divisor.h"
#include "cuda_check.cuh"
#include "data/augment.h"
#include "gpu/augment.h"

namespace dmdlk::cuda_ops {

namespace {

// `images`: the batch's [c, h, w] images, as divisors.
__global__ void unit_kernel(int64_t batch, int64_t h, int64_t w, int64_t c, ImageIndex images, const uint8_t* in,
                            float* out) {
  DMDLK_GRID_LOOP(i, batch * c * h * w) {
    int64_t n, ch, y, x;
    images.split(i, n, ch, y, x);
    out[i] = float(in[((n * h + y) * w + x) * c + ch]) / 255.f;
  }
}

__global__ void warp_images_kernel(int64_t batch, int64_t c, int64_t h, int64_t w, int64_t out_h, int64_t out_w,
                                   ImageIndex outputs, const float* matrices, const float* in, float* out) {
  DMDLK_GRID_LOOP(i, batch * c * out_h * out_w) {
    int64_t n, ch, y, x;
    const int64_t plane = outputs.split(i, n, ch, y, x);
    float sx, sy;
    warp_source(matrices + n * 6, x, y, &sx, &sy);
    out[i] = bilinear_sample(in + plane * h * w, h, w, sx, sy);
  }
}

__global__ void warp_masks_kernel(int64_t batch, int64_t h, int64_t w, PlaneIndex masks, const float* matrices,
                                  const uint8_t* in, int32_t* out) {
  DMDLK_GRID_LOOP(i, batch * h * w) {
    int64_t y, x;
    const int64_t n = masks.split(i, y, x);
    float sx, sy;
    warp_source(matrices + n * 6, x, y, &sx, &sy);
    out[i] = in[(n * h + nearest_index(sy, h)) * w + nearest_index(sx, w)];
  }
}

// One block per image: brighten and sum the grey, then the rest per pixel.
__global__ void __launch_bounds__(kColourThreads) colour_kernel(int64_t h, int64_t w, const float* factors, float* x) {
  using Block = cub::BlockReduce<double, int(kColourThreads)>;
  __shared__ Block::TempStorage scratch;
  __shared__ float shared_mean;
  int64_t plane = h * w;
  float* img = x + blockIdx.x * 3 * plane;
  const float* f = factors + blockIdx.x * 4;
  double grey = 0;
  for (int64_t i = threadIdx.x; i < plane; i += blockDim.x) {
    float r = brightened(img[i], f), g = brightened(img[plane + i], f), b = brightened(img[2 * plane + i], f);
    img[i] = r, img[plane + i] = g, img[2 * plane + i] = b;
    grey += grayscale(r, g, b);
  }
  grey = Block(scratch).Sum(grey);
  if (threadIdx.x == 0) shared_mean = float(grey / double(plane));
  __syncthreads();
  float mean = shared_mean;
  for (int64_t i = threadIdx.x; i < plane; i += blockDim.x)
    jitter_pixel(img + i, img + plane + i, img + 2 * plane + i, f, mean);
}

__global__ void blur_kernel(int64_t batch, int64_t c, int64_t h, int64_t w, ImageIndex images, const float* kernels,
                            const int32_t* radii, int64_t taps, bool vertical, const float* in, float* out) {
  DMDLK_GRID_LOOP(i, batch * c * h * w) {
    int64_t n, ch, y, x;
    const int64_t plane = images.split(i, n, ch, y, x), r = radii[n];
    const float* k = kernels + n * taps;
    const float* p = in + plane * h * w;
    float s = 0;
    for (int64_t t = -r; t <= r; ++t)
      s += k[t + r] * (vertical ? p[reflect_index(y + t, h) * w + x] : p[y * w + reflect_index(x + t, w)]);
    out[i] = s;
  }
}

__global__ void network_input_kernel(int64_t n, float* x) {
  DMDLK_GRID_LOOP(i, n) x[i] = 2 * x[i] - 1;
}

}  // namespace

void unit_images(int device, int64_t batch, int64_t h, int64_t w, int64_t c, const uint8_t* in, float* out) {
  launch(device, plan_unit_images(batch * c * h * w), unit_kernel, batch, h, w, c, ImageIndex::of(c, h, w), in, out);
}

void warp_images(int device, int64_t batch, int64_t c, int64_t h, int64_t w, int64_t out_h, int64_t out_w,
                 const float* matrices, const float* in, float* out) {
  launch(device, plan_warp_images(batch, c, h, w, out_h, out_w), warp_images_kernel, batch, c, h, w, out_h, out_w,
         ImageIndex::of(c, out_h, out_w), matrices, in, out);
}

void warp_masks(int device, int64_t batch, int64_t h, int64_t w, const float* matrices, const uint8_t* in,
                int32_t* out) {
  launch(device, plan_warp_masks(batch, h, w), warp_masks_kernel, batch, h, w, PlaneIndex::of(h, w), matrices, in, out);
}

void adjust_colour(int device, int64_t batch, int64_t h, int64_t w, const float* factors, float* x) {
  launch(device, plan_adjust_colour(batch, h, w), colour_kernel, h, w, factors, x);
}

void blur_pass(int device, int64_t batch, int64_t c, int64_t h, int64_t w, const float* kernels, const int32_t* radii,
               int64_t max_taps, bool vertical, const float* in, float* out) {
  launch(device, plan_blur_pass(batch, c, h, w, max_taps), blur_kernel, batch, c, h, w, ImageIndex::of(c, h, w),
         kernels, radii, max_taps, vertical, in, out);
}

void to_network_input(int device, int64_t n, float* x) {
  launch(device, plan_to_network_input(n), network_input_kernel, n, x);
}

}  // namespace dmdlk::cuda_ops
