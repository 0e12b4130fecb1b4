#include "data/augment.h"

#include <cmath>
#include <cstdlib>
#include <random>

#include "core/thread_pool.h"
#include "gpu/augment.h"
#include "io/json.h"
#include "ops/backend.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

constexpr double kPi = 3.14159265358979323846;

double number(const json::Value& v, const std::string& key, double lo, double hi) {
  DMDLK_CHECK(v.kind == json::Value::Kind::Number, ErrorCode::InvalidArg, "augment.", key, " must be a number");
  double x = std::strtod(v.text.c_str(), nullptr);
  DMDLK_CHECK(x >= lo && x <= hi, ErrorCode::InvalidArg, "augment.", key, " must be in [", lo, ", ", hi, "], got ", x);
  return x;
}

void check_images_f32(const Tensor& x, const char* op) {
  check_defined(x, op, "images");
  DMDLK_CHECK(x.dtype() == DType::F32, ErrorCode::DType, op, ": images must be float32, got ", dtype_name(x.dtype()));
  check_rank(x, 4, op, "images", "[B, C, H, W]");
}

void check_matrices(const Tensor& m, int64_t batch, const Tensor& like, const char* op) {
  check_defined(m, op, "matrices");
  DMDLK_CHECK(m.dtype() == DType::F32 && m.device() == like.device(), ErrorCode::DType, op,
              ": matrices must be float32 on the images' device");
  check_shape(m, {batch, 6}, op, "matrices");
}

// The normalised 1-D Gaussian of torchvision's _get_gaussian_kernel1d.
std::vector<float> gaussian_taps(float sigma, int64_t radius) {
  std::vector<float> taps(size_t(2 * radius + 1));
  double sum = 0;
  for (int64_t i = -radius; i <= radius; ++i)
    sum += taps[size_t(i + radius)] = std::exp(-0.5f * (float(i) / sigma) * (float(i) / sigma));
  for (float& t : taps) t = float(t / sum);
  return taps;
}

}  // namespace

Augmentation augmentation_from_json(const std::string& text) {
  json::Value root = json::parse(text.data(), text.size());
  DMDLK_CHECK(root.kind == json::Value::Kind::Object, ErrorCode::InvalidArg, "augment must be an object");
  Augmentation a;
  const std::pair<const char*, double*> probabilities[] = {{"hflip", &a.hflip},
                                                           {"vflip", &a.vflip},
                                                           {"rotateP", &a.rotate_p},
                                                           {"scaleP", &a.scale_p},
                                                           {"translateP", &a.translate_p},
                                                           {"jitterP", &a.jitter_p},
                                                           {"blurP", &a.blur_p}};
  for (const auto& [key, value] : root.members) {
    bool known = false;
    for (const auto& [name, field] : probabilities)
      if (key == name) *field = number(value, key, 0, 1), known = true;
    if (known) continue;
    if (key == "rotateDegrees") a.rotate_degrees = number(value, key, 0, 180);
    else if (key == "scaleMin") a.scale_min = number(value, key, 0.1, 10);
    else if (key == "scaleMax") a.scale_max = number(value, key, 0.1, 10);
    else if (key == "translate") a.translate = number(value, key, 0, 1);
    else if (key == "brightness") a.brightness = number(value, key, 0, 1);
    else if (key == "contrast") a.contrast = number(value, key, 0, 1);
    else if (key == "saturation") a.saturation = number(value, key, 0, 1);
    else if (key == "hue") a.hue = number(value, key, 0, 0.5);
    else if (key == "blurSigmaMin") a.blur_sigma_min = number(value, key, 0, 20);
    else if (key == "blurSigmaMax") a.blur_sigma_max = number(value, key, 0, 20);
    else throw Error(ErrorCode::InvalidArg, concat("augment has no option '", key, "'"));
  }
  DMDLK_CHECK(a.scale_min <= a.scale_max, ErrorCode::InvalidArg, "augment.scaleMin must not exceed scaleMax");
  DMDLK_CHECK(a.blur_sigma_min <= a.blur_sigma_max || a.blur_p == 0, ErrorCode::InvalidArg,
              "augment.blurSigmaMin must not exceed blurSigmaMax");
  return a;
}

std::vector<ImageAugment> draw_augments(const Augmentation& a, int64_t count, int64_t height, int64_t width,
                                        uint64_t seed) {
  // One generator per image, seeded from (seed, image): a batch's draws do
  // not depend on how many images came before, and libstdc++'s mt19937_64 is
  // the same everywhere. Doubles from 53 random bits, not the distributions,
  // whose algorithms the standard leaves open.
  std::vector<ImageAugment> out(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) {
    std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + uint64_t(i) + 1);
    auto uniform = [&](double lo, double hi) { return lo + (hi - lo) * double(rng() >> 11) * 0x1.0p-53; };
    auto chance = [&](double p) { return uniform(0, 1) < p; };
    double fx = chance(a.hflip) ? -1 : 1, fy = chance(a.vflip) ? -1 : 1;
    double angle = chance(a.rotate_p) ? uniform(-a.rotate_degrees, a.rotate_degrees) * kPi / 180 : 0;
    double scale = chance(a.scale_p) ? uniform(a.scale_min, a.scale_max) : 1;
    bool shift = chance(a.translate_p);
    double tx = shift ? uniform(-a.translate, a.translate) * double(width) : 0;
    double ty = shift ? uniform(-a.translate, a.translate) * double(height) : 0;
    // Forward: p' = c + t + s·R(θ)·F·(p − c); the warp needs the inverse,
    // p = c + F·R(−θ)·(p' − c − t) / s.
    double cx = (double(width) - 1) / 2, cy = (double(height) - 1) / 2, cs = std::cos(angle), sn = std::sin(angle);
    double m00 = fx * cs / scale, m01 = fx * sn / scale, m10 = -fy * sn / scale, m11 = fy * cs / scale;
    ImageAugment& d = out[size_t(i)];
    d.matrix[0] = float(m00), d.matrix[1] = float(m01), d.matrix[2] = float(cx - m00 * (cx + tx) - m01 * (cy + ty));
    d.matrix[3] = float(m10), d.matrix[4] = float(m11), d.matrix[5] = float(cy - m10 * (cx + tx) - m11 * (cy + ty));
    if (chance(a.jitter_p)) {
      d.brightness = float(uniform(1 - a.brightness, 1 + a.brightness));
      d.contrast = float(uniform(1 - a.contrast, 1 + a.contrast));
      d.saturation = float(uniform(1 - a.saturation, 1 + a.saturation));
      d.hue = float(uniform(-a.hue, a.hue));
    }
    if (chance(a.blur_p)) d.blur_sigma = float(uniform(a.blur_sigma_min, a.blur_sigma_max));
  }
  return out;
}

namespace cpu_ops {

void unit_images(int64_t batch, int64_t h, int64_t w, int64_t c, const uint8_t* in, float* out) {
  parallel_for(0, batch * h, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t n = r / h, y = r % h;
      for (int64_t ch = 0; ch < c; ++ch)
        for (int64_t x = 0; x < w; ++x) out[((n * c + ch) * h + y) * w + x] = float(in[(r * w + x) * c + ch]) / 255.f;
    }
  });
}

void warp_images(int64_t batch, int64_t c, int64_t h, int64_t w, int64_t out_h, int64_t out_w, const float* matrices,
                 const float* in, float* out) {
  parallel_for(0, batch * out_h, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t n = r / out_h, y = r % out_h;
      for (int64_t xx = 0; xx < out_w; ++xx) {
        float sx, sy;
        warp_source(matrices + n * 6, xx, y, &sx, &sy);
        for (int64_t ch = 0; ch < c; ++ch)
          out[((n * c + ch) * out_h + y) * out_w + xx] = bilinear_sample(in + (n * c + ch) * h * w, h, w, sx, sy);
      }
    }
  });
}

void warp_masks(int64_t batch, int64_t h, int64_t w, const float* matrices, const uint8_t* in, int32_t* out) {
  parallel_for(0, batch * h, 16, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      int64_t n = r / h, y = r % h;
      for (int64_t xx = 0; xx < w; ++xx) {
        float sx, sy;
        warp_source(matrices + n * 6, xx, y, &sx, &sy);
        out[r * w + xx] = in[(n * h + nearest_index(sy, h)) * w + nearest_index(sx, w)];
      }
    }
  });
}

void adjust_colour(int64_t batch, int64_t h, int64_t w, const float* factors, float* x) {
  int64_t plane = h * w;
  parallel_for(0, batch, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t n = lo; n < hi; ++n) {
      float* r = x + n * 3 * plane;
      const float* fn = factors + n * 4;
      double grey = 0;
      for (int64_t i = 0; i < plane; ++i) {
        r[i] = brightened(r[i], fn), r[plane + i] = brightened(r[plane + i], fn);
        r[2 * plane + i] = brightened(r[2 * plane + i], fn);
        grey += grayscale(r[i], r[plane + i], r[2 * plane + i]);
      }
      float mean = float(grey / double(plane));
      for (int64_t i = 0; i < plane; ++i) jitter_pixel(r + i, r + plane + i, r + 2 * plane + i, fn, mean);
    }
  });
}

// Tap t of image n's kernel weights offset t − radius.
void blur_pass(int64_t batch, int64_t c, int64_t h, int64_t w, const float* kernels, const int32_t* radii,
               int64_t max_taps, bool vertical, const float* in, float* out) {
  parallel_for(0, batch * c * h, 8, [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      int64_t n = row / (c * h), y = row % h, r = radii[n];
      const float* k = kernels + n * max_taps;
      const float* plane = in + (row / h) * h * w;
      for (int64_t xx = 0; xx < w; ++xx) {
        float s = 0;
        for (int64_t t = -r; t <= r; ++t)
          s +=
              k[t + r] * (vertical ? plane[reflect_index(y + t, h) * w + xx] : plane[y * w + reflect_index(xx + t, w)]);
        out[row * w + xx] = s;
      }
    }
  });
}

void to_network_input(int64_t n, float* x) {
  parallel_for(0, n, 1 << 14, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) x[i] = 2 * x[i] - 1;
  });
}

}  // namespace cpu_ops

Tensor unit_images(const Tensor& images) {
  const char* op = "unit_images";
  check_defined(images, op, "images");
  DMDLK_CHECK(images.dtype() == DType::U8, ErrorCode::DType, op, ": images must be uint8, got ",
              dtype_name(images.dtype()));
  check_rank(images, 4, op, "images", "[B, H, W, C]");
  int64_t b = images.dim(0), h = images.dim(1), w = images.dim(2), c = images.dim(3);
  Tensor out = Tensor::empty({b, c, h, w}, DType::F32, images.device());
  if (out.numel() == 0) return out;
  DMDLK_ON_DEVICE(images.device(), unit_images, b, h, w, c, images.data<uint8_t>(), out.data<float>());
  return out;
}

Tensor warp_images(const Tensor& x, const Tensor& matrices, int64_t out_h, int64_t out_w) {
  const char* op = "warp_images";
  check_images_f32(x, op);
  int64_t b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  check_matrices(matrices, b, x, op);
  DMDLK_CHECK(out_h >= 1 && out_w >= 1 && h >= 1 && w >= 1, ErrorCode::Shape, op, ": empty image");
  Tensor out = Tensor::empty({b, c, out_h, out_w}, DType::F32, x.device());
  DMDLK_ON_DEVICE(x.device(), warp_images, b, c, h, w, out_h, out_w, matrices.data<float>(), x.data<float>(),
                  out.data<float>());
  return out;
}

Tensor warp_masks(const Tensor& masks, const Tensor& matrices) {
  const char* op = "warp_masks";
  check_defined(masks, op, "masks");
  DMDLK_CHECK(masks.dtype() == DType::U8, ErrorCode::DType, op, ": masks must be uint8, got ",
              dtype_name(masks.dtype()));
  check_rank(masks, 3, op, "masks", "[B, H, W]");
  int64_t b = masks.dim(0), h = masks.dim(1), w = masks.dim(2);
  check_matrices(matrices, b, masks, op);
  Tensor out = Tensor::empty({b, h, w}, DType::I32, masks.device());
  if (out.numel() == 0) return out;
  DMDLK_ON_DEVICE(masks.device(), warp_masks, b, h, w, matrices.data<float>(), masks.data<uint8_t>(),
                  out.data<int32_t>());
  return out;
}

Tensor adjust_colour(const Tensor& x, const Tensor& factors) {
  const char* op = "adjust_colour";
  check_images_f32(x, op);
  int64_t b = x.dim(0), h = x.dim(2), w = x.dim(3);
  DMDLK_CHECK(x.dim(1) == 3, ErrorCode::Shape, op, ": colour jitter needs RGB images, got ", x.dim(1), " channels");
  DMDLK_CHECK(factors.defined() && factors.dtype() == DType::F32 && factors.device() == x.device(), ErrorCode::DType,
              op, ": factors must be float32 on the images' device");
  check_shape(factors, {b, 4}, op, "factors");
  Tensor out = x.clone();
  DMDLK_ON_DEVICE(x.device(), adjust_colour, b, h, w, factors.data<float>(), out.data<float>());
  return out;
}

Tensor gaussian_blur(const Tensor& x, const std::vector<float>& sigmas) {
  const char* op = "gaussian_blur";
  check_images_f32(x, op);
  int64_t b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  DMDLK_CHECK(int64_t(sigmas.size()) == b, ErrorCode::Shape, op, ": one sigma per image expected, got ", sigmas.size());
  // Per image: its radius and taps, padded to the widest kernel.
  std::vector<int32_t> radii(static_cast<size_t>(b));
  int64_t widest = 0;
  for (int64_t n = 0; n < b; ++n) {
    DMDLK_CHECK(sigmas[size_t(n)] >= 0 && std::isfinite(sigmas[size_t(n)]), ErrorCode::InvalidArg, op,
                ": sigma must be finite and >= 0");
    radii[size_t(n)] = sigmas[size_t(n)] > 0 ? int32_t(blur_radius(sigmas[size_t(n)], h, w)) : 0;
    widest = std::max<int64_t>(widest, radii[size_t(n)]);
  }
  int64_t taps = 2 * widest + 1;
  std::vector<float> kernels(size_t(b * taps), 0.f);
  for (int64_t n = 0; n < b; ++n) {
    if (radii[size_t(n)] == 0) {
      kernels[size_t(n * taps)] = 1;
      continue;
    }
    std::vector<float> k = gaussian_taps(sigmas[size_t(n)], radii[size_t(n)]);
    std::copy(k.begin(), k.end(), kernels.begin() + n * taps);
  }
  Tensor tmp = Tensor::empty(x.shape(), DType::F32, x.device()), out = Tensor::empty(x.shape(), DType::F32, x.device());
  Tensor k = Tensor::from_vector(kernels, {b, taps}).to(x.device());
  Tensor rad = Tensor::from_vector(radii, {b}).to(x.device());
  // Horizontal then vertical.
  DMDLK_ON_DEVICE(x.device(), blur_pass, b, c, h, w, k.data<float>(), rad.data<int32_t>(), taps, false, x.data<float>(),
                  tmp.data<float>());
  DMDLK_ON_DEVICE(x.device(), blur_pass, b, c, h, w, k.data<float>(), rad.data<int32_t>(), taps, true,
                  tmp.data<float>(), out.data<float>());
  return out;
}

Tensor resize_bilinear(const Tensor& x, int64_t out_h, int64_t out_w) {
  check_images_f32(x, "resize_bilinear");
  DMDLK_CHECK(out_h >= 1 && out_w >= 1, ErrorCode::Shape, "resize_bilinear: the output must not be empty");
  // align_corners=False: output pixel o reads input (o + 0.5)·in/out − 0.5.
  float sx = float(x.dim(3)) / float(out_w), sy = float(x.dim(2)) / float(out_h);
  std::vector<float> m;
  for (int64_t n = 0; n < x.dim(0); ++n) m.insert(m.end(), {sx, 0, 0.5f * sx - 0.5f, 0, sy, 0.5f * sy - 0.5f});
  return warp_images(x, Tensor::from_vector(m, {x.dim(0), 6}).to(x.device()), out_h, out_w);
}

PreparedBatch prepare_batch(const Tensor& images, const Tensor& masks, Device device,
                            const std::vector<ImageAugment>& augments) {
  const char* op = "prepare_batch";
  check_defined(images, op, "images");
  check_rank(images, 4, op, "images", "[B, H, W, C]");
  int64_t b = images.dim(0), h = images.dim(1), w = images.dim(2);
  if (masks.defined()) check_shape(masks, {b, h, w}, op, "masks");
  DMDLK_CHECK(augments.empty() || int64_t(augments.size()) == b, ErrorCode::Shape, op, ": ", augments.size(),
              " augmentations for ", b, " images");
  Tensor x = unit_images(images.to(device));
  Tensor m = masks.defined() ? masks.to(device) : Tensor();
  PreparedBatch out;
  std::vector<float> matrices, factors, sigmas;
  bool jitter = false, blur = false;
  for (int64_t n = 0; n < b; ++n) {
    ImageAugment d = augments.empty() ? ImageAugment{} : augments[size_t(n)];
    matrices.insert(matrices.end(), d.matrix, d.matrix + 6);
    factors.insert(factors.end(), {d.brightness, d.contrast, d.saturation, d.hue});
    sigmas.push_back(d.blur_sigma);
    jitter = jitter || d.brightness != 1 || d.contrast != 1 || d.saturation != 1 || d.hue != 0;
    blur = blur || d.blur_sigma > 0;
  }
  Tensor mt = Tensor::from_vector(matrices, {b, 6}).to(device);
  if (!augments.empty()) x = warp_images(x, mt, h, w);
  if (jitter) x = adjust_colour(x, Tensor::from_vector(factors, {b, 4}).to(device));
  if (blur) x = gaussian_blur(x, sigmas);
  if (m.defined()) out.masks = warp_masks(m, mt);  // the identity when not augmenting: a plain conversion
  DMDLK_ON_DEVICE(device, to_network_input, x.numel(), x.data<float>());
  out.images = x;
  return out;
}

StoredBatch augment_stored(const Tensor& images, const Tensor& masks, const std::vector<ImageAugment>& augments) {
  DMDLK_CHECK(masks.defined(), ErrorCode::InvalidArg, "augment_stored: masks are required");
  PreparedBatch p = prepare_batch(images, masks, Device::cpu(), augments);
  int64_t b = p.images.dim(0), c = p.images.dim(1), h = p.images.dim(2), w = p.images.dim(3);
  StoredBatch out{Tensor::empty({b, h, w, c}, DType::U8), Tensor::empty({b, h, w}, DType::U8)};
  const float* x = p.images.data<float>();
  uint8_t* o = out.images.data<uint8_t>();
  for (int64_t n = 0; n < b; ++n)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < h * w; ++i)
        o[(n * h * w + i) * c + ch] = uint8_t(std::lround(clamp01((x[(n * c + ch) * h * w + i] + 1) / 2) * 255));
  const int32_t* m = p.masks.data<int32_t>();
  uint8_t* om = out.masks.data<uint8_t>();
  for (int64_t i = 0; i < p.masks.numel(); ++i) om[i] = uint8_t(m[i]);
  return out;
}

}  // namespace dmdlk
