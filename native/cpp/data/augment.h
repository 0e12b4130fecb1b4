// Data preparation on the model's device: the uint8 images and masks that
// datasets hold become the network's float input and int32 class indices,
// through an optional random augmentation drawn per image from a seed.
//
//   geometry  one affine warp per image (flips, rotation, scaling and
//             translation composed about the centre): bilinear for images,
//             nearest for masks, border replicated — PyTorch's grid_sample
//             with padding_mode='border', align_corners=False;
//   colour    torchvision's adjust_brightness, adjust_contrast,
//             adjust_saturation and adjust_hue, in that order, on [0, 1];
//   blur      torchvision's gaussian_blur, kernel 2⌈3σ⌉ + 1, reflect padding.
//
// The network's input is 2x − 1 of the [0, 1] image. These are data
// transforms, not layers: nothing here is differentiated.
#pragma once
#include <math.h>

#include <string>
#include <vector>

#include "core/host_device.h"
#include "core/tensor.h"

namespace dmdlk {

// The user's ranges; each transform is applied with its probability.
struct Augmentation {
  double hflip = 0, vflip = 0;                       // probabilities
  double rotate_p = 0, rotate_degrees = 0;           // angle uniform in ±degrees
  double scale_p = 0, scale_min = 1, scale_max = 1;  // zoom uniform in [min, max]
  double translate_p = 0, translate = 0;             // shift uniform in ±fraction of the side, per axis
  double jitter_p = 0, brightness = 0, contrast = 0, saturation = 0, hue = 0;  // factors 1 ± x, hue ± x (≤ 0.5)
  double blur_p = 0, blur_sigma_min = 0.1, blur_sigma_max = 0;
};
// From the camelCase JSON of the TypeScript layer; every field is checked.
Augmentation augmentation_from_json(const std::string& json);

// What one image gets.
struct ImageAugment {
  // Output pixel (x, y) reads the input at (m[0]x + m[1]y + m[2], m[3]x + m[4]y + m[5]),
  // in pixel coordinates whose integers are pixel centres.
  float matrix[6] = {1, 0, 0, 0, 1, 0};
  float brightness = 1, contrast = 1, saturation = 1, hue = 0;
  float blur_sigma = 0;  // 0: no blur
};
// `count` draws for images of height × width; the same seed gives the same draws.
std::vector<ImageAugment> draw_augments(const Augmentation& a, int64_t count, int64_t height, int64_t width,
                                        uint64_t seed);

struct PreparedBatch {
  Tensor images;  // [B, C, H, W] float32, 2x − 1
  Tensor masks;   // [B, H, W] int32; undefined when no masks were given
};
// images uint8 [B, H, W, C] (channels last, as decoded), masks uint8 [B, H, W]
// class indices or undefined; `augments` empty or one per image. The result
// lives on `device`.
PreparedBatch prepare_batch(const Tensor& images, const Tensor& masks, Device device,
                            const std::vector<ImageAugment>& augments);

// The augmented batch back in the stored form (uint8 [B, H, W, C] and uint8
// [B, H, W]), on the CPU: the paper's offline augmentation.
struct StoredBatch {
  Tensor images, masks;
};
StoredBatch augment_stored(const Tensor& images, const Tensor& masks, const std::vector<ImageAugment>& augments);

// ---- the transforms, on [B, C, H, W] float32 in [0, 1] ------------------------------
Tensor unit_images(const Tensor& images_u8);  // uint8 [B, H, W, C] -> [B, C, H, W] / 255
Tensor warp_images(const Tensor& x, const Tensor& matrices, int64_t out_h, int64_t out_w);  // matrices [B, 6]
Tensor warp_masks(const Tensor& masks_u8, const Tensor& matrices);                          // -> int32 [B, H, W]
Tensor adjust_colour(const Tensor& x, const Tensor& factors);  // factors [B, 4]: brightness, contrast, saturation, hue
Tensor gaussian_blur(const Tensor& x, const std::vector<float>& sigmas);  // one σ per image, 0 = unchanged
// Bilinear resize with align_corners=False semantics (a warp by a scaling matrix).
Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w);

// ---- per-pixel math shared by both backends ------------------------------------------
DMDLK_HD float clamp01(float v) { return v < 0.f ? 0.f : (v > 1.f ? 1.f : v); }
DMDLK_HD float grayscale(float r, float g, float b) { return 0.2989f * r + 0.587f * g + 0.114f * b; }

DMDLK_HD void warp_source(const float* m, int64_t x, int64_t y, float* sx, float* sy) {
  *sx = m[0] * float(x) + m[1] * float(y) + m[2];
  *sy = m[3] * float(x) + m[4] * float(y) + m[5];
}

DMDLK_HD float clamp_coordinate(float v, int64_t size) {
  float hi = float(size - 1);
  return v < 0.f ? 0.f : (v > hi ? hi : v);
}

// grid_sample(mode='bilinear', padding_mode='border') of one plane at (sx, sy).
DMDLK_HD float bilinear_sample(const float* plane, int64_t h, int64_t w, float sx, float sy) {
  sx = clamp_coordinate(sx, w), sy = clamp_coordinate(sy, h);
  int64_t x0 = int64_t(floorf(sx)), y0 = int64_t(floorf(sy));
  int64_t x1 = x0 + 1 < w ? x0 + 1 : w - 1, y1 = y0 + 1 < h ? y0 + 1 : h - 1;
  float lx = sx - float(x0), ly = sy - float(y0);
  return (1 - ly) * ((1 - lx) * plane[y0 * w + x0] + lx * plane[y0 * w + x1]) +
         ly * ((1 - lx) * plane[y1 * w + x0] + lx * plane[y1 * w + x1]);
}

// grid_sample(mode='nearest', padding_mode='border'): rounds half to even.
DMDLK_HD int64_t nearest_index(float v, int64_t size) { return int64_t(rintf(clamp_coordinate(v, size))); }

// torchvision's _rgb2hsv, hue shift, _hsv2rgb on one pixel.
DMDLK_HD void shift_hue(float* r, float* g, float* b, float shift) {
  float maxc = fmaxf(*r, fmaxf(*g, *b)), minc = fminf(*r, fminf(*g, *b));
  bool equal = maxc == minc;
  float cr = maxc - minc;
  float s = cr / (equal ? 1.f : maxc), divisor = equal ? 1.f : cr;
  float rc = (maxc - *r) / divisor, gc = (maxc - *g) / divisor, bc = (maxc - *b) / divisor;
  float h = maxc == *r ? bc - gc : (maxc == *g ? 2.f + rc - bc : 4.f + gc - rc);
  h = fmodf(h / 6.f + 1.f, 1.f);
  h = h + shift;
  h = h - floorf(h);  // Python's % 1.0
  float v = maxc, i = floorf(h * 6.f), f = h * 6.f - i;
  float p = clamp01(v * (1.f - s)), q = clamp01(v * (1.f - s * f)), t = clamp01(v * (1.f - s * (1.f - f)));
  switch (int(i) % 6) {
    case 0: *r = v, *g = t, *b = p; break;
    case 1: *r = q, *g = v, *b = p; break;
    case 2: *r = p, *g = v, *b = t; break;
    case 3: *r = p, *g = q, *b = v; break;
    case 4: *r = t, *g = p, *b = v; break;
    default: *r = v, *g = p, *b = q; break;
  }
}

DMDLK_HD float brightened(float v, const float* f) { return clamp01(v * f[0]); }

// Contrast (about the brightened image's mean grey), then saturation, then
// hue, on one RGB pixel already brightened; f = {brightness, contrast,
// saturation, hue}.
DMDLK_HD void jitter_pixel(float* r, float* g, float* b, const float* f, float mean_grey) {
  *r = clamp01(f[1] * *r + (1 - f[1]) * mean_grey);
  *g = clamp01(f[1] * *g + (1 - f[1]) * mean_grey);
  *b = clamp01(f[1] * *b + (1 - f[1]) * mean_grey);
  float grey = grayscale(*r, *g, *b);
  *r = clamp01(f[2] * *r + (1 - f[2]) * grey);
  *g = clamp01(f[2] * *g + (1 - f[2]) * grey);
  *b = clamp01(f[2] * *b + (1 - f[2]) * grey);
  if (f[3] != 0) shift_hue(r, g, b, f[3]);
}

// Reflect padding's source index (no edge repeat), for |offset| < size.
DMDLK_HD int64_t reflect_index(int64_t i, int64_t size) {
  if (i < 0) i = -i;
  if (i >= size) i = 2 * (size - 1) - i;
  return i;
}

// Radius of torchvision's kernel for σ (kernel 2⌈3σ⌉ + 1), kept inside the image.
DMDLK_HD int64_t blur_radius(float sigma, int64_t h, int64_t w) {
  int64_t r = int64_t(ceilf(3.f * sigma)), limit = (h < w ? h : w) - 1;
  return r < limit ? r : limit;
}

}  // namespace dmdlk
