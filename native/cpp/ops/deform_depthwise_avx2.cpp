// The AVX2/FMA row kernels of deform_depthwise_rows.h. Channels are taken 8
// at a time (one ymm); the forward keeps 32 channels' sums in registers
// across the taps. Only called when cpu_features() reports AVX2 and FMA.
#include <immintrin.h>

#include "ops/deform_depthwise_rows.h"

namespace dmdlk::deform_avx2 {

namespace {

// Σ_k w[k] · v[k]: the corners' channels weighted.
inline __m256 combine(const __m256 w[4], const __m256 v[4]) {
  __m256 sum = _mm256_mul_ps(w[0], v[0]);
  sum = _mm256_fmadd_ps(w[1], v[1], sum);
  sum = _mm256_fmadd_ps(w[2], v[2], sum);
  return _mm256_fmadd_ps(w[3], v[3], sum);
}

inline float sum_lanes(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(s, _mm_movehdup_ps(s)));
}

struct Corners {
  const float* at[4];  // the four corners' channels in a channels-last image
  __m256 value[4];
  __m256 inside[4];  // all ones where the corner is in the image: one outside reads 0, whatever pixel 0 holds
  Corners(const DeformSample<float>& s, const float* image, int64_t channels) {
    for (int k = 0; k < 4; ++k) {
      at[k] = image + int64_t(s.index[k]) * channels, value[k] = _mm256_set1_ps(s.value[k]);
      inside[k] = _mm256_castsi256_ps(_mm256_set1_epi32(s.corner_inside(k) ? -1 : 0));
    }
  }
  void load(int64_t c, __m256 v[4]) const {
    for (int k = 0; k < 4; ++k) v[k] = _mm256_and_ps(_mm256_loadu_ps(at[k] + c), inside[k]);
  }
};

// Channels [c0, c0 + 8·Blocks) of one output pixel, summed over the taps in registers.
template <int Blocks>
void forward_pixel(int64_t channels, int64_t width, int64_t taps, const DeformSample<float>* column, const float* xt,
                   const float* wt, int64_t c0, float* out) {
  __m256 acc[Blocks];
  for (int b = 0; b < Blocks; ++b) acc[b] = _mm256_setzero_ps();
  for (int64_t t = 0; t < taps; ++t) {
    const DeformSample<float>& s = column[t * width];
    if (s.value[0] == 0.0f && s.value[1] == 0.0f && s.value[2] == 0.0f && s.value[3] == 0.0f) continue;  // outside
    Corners k(s, xt, channels);
    for (int b = 0; b < Blocks; ++b) {
      int64_t c = c0 + 8 * b;
      __m256 v[4];
      k.load(c, v);
      acc[b] = _mm256_fmadd_ps(_mm256_loadu_ps(wt + t * channels + c), combine(k.value, v), acc[b]);
    }
  }
  for (int b = 0; b < Blocks; ++b) _mm256_storeu_ps(out + c0 + 8 * b, acc[b]);
}

}  // namespace

void forward_row(int64_t channels, int64_t width, int64_t taps, const DeformSample<float>* samples, const float* xt,
                 const float* wt, float* y_row) {
  for (int64_t ox = 0; ox < width; ++ox) {
    float* out = y_row + ox * channels;
    int64_t c0 = 0;
    for (; c0 + 32 <= channels; c0 += 32) forward_pixel<4>(channels, width, taps, samples + ox, xt, wt, c0, out);
    for (; c0 < channels; c0 += 8) forward_pixel<1>(channels, width, taps, samples + ox, xt, wt, c0, out);
  }
}

void backward_row(int64_t channels, int64_t width, int64_t taps, const DeformSample<float>* samples, const float* xt,
                  const float* dy_row, const float* wt, float* dw, float* dxt, float* doffset, int64_t plane) {
  for (int64_t ox = 0; ox < width; ++ox) {
    const float* dy = dy_row + ox * channels;
    for (int64_t t = 0; t < taps; ++t) {
      const DeformSample<float>& s = samples[t * width + ox];
      Corners k(s, xt, channels);
      float* dx_at[4];
      __m256 grad_y[4], grad_x[4];
      for (int i = 0; i < 4; ++i) {
        dx_at[i] = dxt + int64_t(s.index[i]) * channels;
        grad_y[i] = _mm256_set1_ps(s.grad_y[i]), grad_x[i] = _mm256_set1_ps(s.grad_x[i]);
      }
      const float* wtt = wt + t * channels;
      float* dwt = dw + t * channels;
      __m256 sum_y = _mm256_setzero_ps(), sum_x = _mm256_setzero_ps();
      for (int64_t c = 0; c < channels; c += 8) {
        __m256 v[4];
        k.load(c, v);
        __m256 g = _mm256_loadu_ps(dy + c);
        _mm256_storeu_ps(dwt + c, _mm256_fmadd_ps(g, combine(k.value, v), _mm256_loadu_ps(dwt + c)));
        __m256 d = _mm256_mul_ps(g, _mm256_loadu_ps(wtt + c));
        sum_y = _mm256_fmadd_ps(d, combine(grad_y, v), sum_y);
        sum_x = _mm256_fmadd_ps(d, combine(grad_x, v), sum_x);
        // In corner order, one after another: corners outside all point at
        // pixel 0 with weight 0, so they may alias each other or a real one.
        for (int i = 0; i < 4; ++i)
          _mm256_storeu_ps(dx_at[i] + c, _mm256_fmadd_ps(k.value[i], d, _mm256_loadu_ps(dx_at[i] + c)));
      }
      doffset[2 * t * plane + ox] = sum_lanes(sum_y);
      doffset[(2 * t + 1) * plane + ox] = sum_lanes(sum_x);
    }
  }
}

}  // namespace dmdlk::deform_avx2
