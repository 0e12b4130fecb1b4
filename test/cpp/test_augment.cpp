// The data transforms (native/cpp/data/augment.h) against PyTorch and
// torchvision (test/reference/gen_augment_ops.py), and the properties the
// training loop relies on: reproducible draws, an exact identity, masks
// that move with their images.
#include <cmath>

#include "data/augment.h"
#include "fixtures.h"
#include "harness.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

const std::map<std::string, FixtureCase>& fixtures() {
  static const auto cases = load_fixtures("augment_ops.safetensors");
  return cases;
}

std::vector<float> sigmas_of(const Tensor& t) { return t.to_vector<float>(); }

Tensor ramp_images(int64_t b, int64_t h, int64_t w) {  // uint8 [B, H, W, 3], every pixel different
  std::vector<uint8_t> v(size_t(b * h * w * 3));
  for (size_t i = 0; i < v.size(); ++i) v[i] = uint8_t((i * 37) % 251);
  return Tensor::from_vector(v, {b, h, w, 3});
}

}  // namespace

TEST(warps_match_grid_sample) {
  const FixtureCase& c = fixtures().at("warp_images");
  CHECK_CLOSE(warp_images(c.at("x"), c.at("matrices"), c.at("x").dim(2), c.at("x").dim(3)), c.at("y"), 1e-5, 1e-5);
  const FixtureCase& m = fixtures().at("warp_masks");
  Tensor got = warp_masks(m.at("masks"), m.at("matrices"));
  CHECK(got.to_vector<int32_t>() == m.at("y").to_vector<int32_t>());
  // Exact half-pixel ties (which PyTorch's float grid rarely hits) round half to even, as nearbyint does.
  CHECK_EQ(nearest_index(0.5f, 9), 0);
  CHECK_EQ(nearest_index(1.5f, 9), 2);
  CHECK_EQ(nearest_index(2.5f, 9), 2);
  CHECK_EQ(nearest_index(-3.0f, 9), 0);
  CHECK_EQ(nearest_index(12.7f, 9), 8);
}

TEST(resize_matches_interpolate) {
  for (const char* name : {"resize_up", "resize_down"}) {
    const FixtureCase& c = fixtures().at(name);
    CHECK_CLOSE(resize_bilinear(c.at("x"), c.at("y").dim(2), c.at("y").dim(3)), c.at("y"), 1e-5, 1e-5);
  }
}

TEST(colour_jitter_matches_torchvision) {
  const FixtureCase& c = fixtures().at("adjust_colour");
  CHECK_CLOSE(adjust_colour(c.at("x"), c.at("factors")), c.at("y"), 2e-5, 1e-5);
}

TEST(blur_matches_torchvision) {
  const FixtureCase& c = fixtures().at("gaussian_blur");
  CHECK_CLOSE(gaussian_blur(c.at("x"), sigmas_of(c.at("sigmas"))), c.at("y"), 1e-5, 1e-5);
}

TEST(draws_are_reproducible_and_in_range) {
  Augmentation a = augmentation_from_json(
      R"({"hflip":0.5,"vflip":0.5,"rotateP":1,"rotateDegrees":30,"scaleP":1,"scaleMin":0.8,"scaleMax":1.2,)"
      R"("translateP":1,"translate":0.1,"jitterP":1,"brightness":0.2,"contrast":0.2,"saturation":0.2,"hue":0.05,)"
      R"("blurP":0.5,"blurSigmaMin":0.1,"blurSigmaMax":1.5})");
  auto d1 = draw_augments(a, 64, 32, 32, 7), d2 = draw_augments(a, 64, 32, 32, 7), d3 = draw_augments(a, 64, 32, 32, 8);
  int flips = 0, blurs = 0;
  bool differs = false;
  for (size_t i = 0; i < d1.size(); ++i) {
    for (int k = 0; k < 6; ++k) CHECK_EQ(d1[i].matrix[k], d2[i].matrix[k]);
    differs = differs || d1[i].matrix[0] != d3[i].matrix[0];
    // |det| = 1/scale²: the zoom stays in its range.
    double det = std::fabs(double(d1[i].matrix[0]) * d1[i].matrix[4] - double(d1[i].matrix[1]) * d1[i].matrix[3]);
    CHECK(det >= 1 / (1.2 * 1.2) - 1e-5 && det <= 1 / (0.8 * 0.8) + 1e-5);
    CHECK(d1[i].brightness >= 0.8f && d1[i].brightness <= 1.2f && std::fabs(d1[i].hue) <= 0.05f);
    flips += d1[i].matrix[0] * d1[i].matrix[4] - d1[i].matrix[1] * d1[i].matrix[3] < 0;
    blurs += d1[i].blur_sigma > 0;
  }
  CHECK(differs);
  CHECK(flips > 10 && flips < 54);  // one flip of two reverses orientation: about half
  CHECK(blurs > 10 && blurs < 54);
  CHECK_THROWS(augmentation_from_json(R"({"hflip":2})"), ErrorCode::InvalidArg, "hflip");
  CHECK_THROWS(augmentation_from_json(R"({"spin":1})"), ErrorCode::InvalidArg, "spin");
  CHECK_THROWS(augmentation_from_json(R"({"scaleMin":1.5,"scaleMax":1.2})"), ErrorCode::InvalidArg, "scaleMin");
}

TEST(identity_preparation_is_exact) {
  Tensor images = ramp_images(2, 5, 7);
  std::vector<uint8_t> mv(2 * 5 * 7);
  for (size_t i = 0; i < mv.size(); ++i) mv[i] = uint8_t(i % 2);
  PreparedBatch p = prepare_batch(images, Tensor::from_vector(mv, {2, 5, 7}), Device::cpu(), {});
  std::vector<uint8_t> in = images.to_vector<uint8_t>();
  std::vector<float> x = p.images.to_vector<float>();
  bool exact = true;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t c = 0; c < 3; ++c)
      for (int64_t i = 0; i < 35; ++i)
        exact = exact && x[size_t((n * 3 + c) * 35 + i)] == 2 * (float(in[size_t((n * 35 + i) * 3 + c)]) / 255.f) - 1;
  CHECK(exact);
  std::vector<int32_t> m = p.masks.to_vector<int32_t>();
  CHECK(std::equal(m.begin(), m.end(), mv.begin()));
}

TEST(masks_follow_their_images) {
  // The mask is the image's red channel thresholded; after any geometric
  // augmentation that must still hold where the warp reads pixel centres.
  const int64_t s = 24;
  std::vector<uint8_t> pixels(size_t(2 * s * s * 3), 0), labels(size_t(2 * s * s), 0);
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t y = 0; y < s; ++y)
      for (int64_t x = 0; x < s; ++x) {
        bool lesion = (x - 6 - 4 * n) * (x - 6 - 4 * n) + (y - 9) * (y - 9) < 30;
        pixels[size_t(((n * s + y) * s + x) * 3)] = lesion ? 255 : 0;
        labels[size_t((n * s + y) * s + x)] = lesion;
      }
  Augmentation a;
  a.hflip = a.vflip = 0.5, a.rotate_p = 1, a.rotate_degrees = 90, a.translate_p = 1, a.translate = 0.1;
  auto draws = draw_augments(a, 2, s, s, 3);
  for (auto& d : draws) {  // whole-pixel maps (flips, quarter turns, integer shifts) keep nearest and bilinear equal
    for (float& m : d.matrix) m = std::round(m);
  }
  PreparedBatch p = prepare_batch(Tensor::from_vector(pixels, {2, s, s, 3}), Tensor::from_vector(labels, {2, s, s}),
                                  Device::cpu(), draws);
  std::vector<float> x = p.images.to_vector<float>();
  std::vector<int32_t> m = p.masks.to_vector<int32_t>();
  int64_t agree = 0, lesion = 0;
  for (int64_t n = 0; n < 2; ++n)
    for (int64_t i = 0; i < s * s; ++i) {
      bool red = x[size_t(n * 3 * s * s + i)] > 0;
      agree += red == (m[size_t(n * s * s + i)] == 1);
      lesion += m[size_t(n * s * s + i)];
    }
  CHECK_EQ(agree, 2 * s * s);
  CHECK(lesion > 20);
}

TEST(bad_arguments_name_the_operand) {
  CHECK_THROWS(unit_images(Tensor::zeros({1, 4, 4, 3}, DType::F32)), ErrorCode::DType, "uint8");
  CHECK_THROWS(warp_images(Tensor::zeros({1, 3, 4, 4}, DType::F32), Tensor::zeros({2, 6}, DType::F32), 4, 4),
               ErrorCode::Shape, "matrices");
  CHECK_THROWS(adjust_colour(Tensor::zeros({1, 1, 4, 4}, DType::F32), Tensor::zeros({1, 4}, DType::F32)),
               ErrorCode::Shape, "RGB");
  CHECK_THROWS(gaussian_blur(Tensor::zeros({2, 3, 4, 4}, DType::F32), {1.0f}), ErrorCode::Shape, "sigma");
  CHECK_THROWS(prepare_batch(ramp_images(2, 4, 4), Tensor::zeros({2, 4, 5}, DType::U8), Device::cpu(), {}),
               ErrorCode::Shape, "masks");
}

int main() { return run_all(); }
