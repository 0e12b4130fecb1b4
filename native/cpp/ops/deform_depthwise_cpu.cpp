#include "ops/deform_depthwise_cpu.h"

#include <algorithm>
#include <type_traits>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ops/backend.h"
#include "ops/deform_depthwise_rows.h"

namespace dmdlk {

namespace {

// The samples of output row oy: table[t · out_w + ox]. The points are
// deform_point's, with its divisions hoisted out of the row.
template <typename T>
void row_samples(const DeformGeometry& g, const T* offset, int64_t oy, std::vector<DeformSample<T>>& table) {
  table.resize(size_t(g.taps() * g.out_w));
  for (int64_t t = 0; t < g.taps(); ++t) {
    int64_t i = t / g.kernel_w, j = t % g.kernel_w;
    const T* off_y = offset + 2 * t * g.pixels() + oy * g.out_w;
    const T* off_x = off_y + g.pixels();
    T y_base = T(oy * g.stride_h - g.pad_h + i * g.dilation_h);
    int64_t x_shift = j * g.dilation_w - g.pad_w;
    DeformSample<T>* out = table.data() + t * g.out_w;
    for (int64_t ox = 0; ox < g.out_w; ++ox)
      out[ox] = make_deform_sample(g, y_base + off_y[ox], T(ox * g.stride_w + x_shift) + off_x[ox]);
  }
}

// The AVX2 row kernels take float images whose channels fill whole vectors.
template <typename T>
bool channels_last(const DeformGeometry& g) {
  return std::is_same_v<T, float> && g.channels % 8 == 0 && cpu_features().avx2 && cpu_features().fma;
}

// Output rows are split into this many slices per image where the batch alone
// cannot keep every thread busy (each slice of an image needs its own dx).
int64_t row_slices(const DeformGeometry& g, int64_t batch) {
  int64_t threads = ThreadPool::global().threads();
  return std::clamp<int64_t>((threads + batch - 1) / std::max<int64_t>(1, batch), 1, std::max<int64_t>(1, g.out_h));
}

// [count][rows, cols] → [count][cols, rows], in blocks of columns.
template <typename T>
void transpose(int64_t count, int64_t rows, int64_t cols, const T* src, T* dst) {
  constexpr int64_t kBlock = 64;
  int64_t blocks = (cols + kBlock - 1) / kBlock;
  parallel_for(0, count * blocks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t job = lo; job < hi; ++job) {
      int64_t n = job / blocks, j0 = (job % blocks) * kBlock, j1 = std::min(cols, j0 + kBlock);
      const T* in = src + n * rows * cols;
      T* out = dst + n * rows * cols;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = j0; j < j1; ++j) out[j * rows + r] = in[r * cols + j];
    }
  });
}

// ---- planar kernels: any type, any channel count --------------------------

template <typename T>
void planar_forward(const DeformGeometry& g, int64_t batch, const T* x, const T* offset, const T* weight, T* y) {
  int64_t plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  parallel_for(0, batch * g.out_h, 1, [&](int64_t lo, int64_t hi) {
    std::vector<DeformSample<T>> table;
    for (int64_t job = lo; job < hi; ++job) {
      int64_t n = job / g.out_h, oy = job % g.out_h;
      row_samples(g, offset + n * 2 * g.taps() * out_plane, oy, table);
      for (int64_t c = 0; c < g.channels; ++c) {
        const T *xc = x + (n * g.channels + c) * plane, *wc = weight + c * g.taps();
        T* out = y + (n * g.channels + c) * out_plane + oy * g.out_w;
        std::fill(out, out + g.out_w, T(0));
        for (int64_t t = 0; t < g.taps(); ++t) {
          const DeformSample<T>* row = table.data() + t * g.out_w;
          for (int64_t ox = 0; ox < g.out_w; ++ox) out[ox] += wc[t] * deform_combine(row[ox].value, row[ox], xc);
        }
      }
    }
  });
}

// One pass over (image, slice of output rows) items: each computes its rows'
// sample points once and, for every tap, channel and pixel, reads the four
// corners once for all three gradients. doffset rows belong to one item; dx
// and dweight go to the item's own buffers (dx: the image's own planes for
// its first slice), summed in a fixed order after.
template <typename T>
void planar_backward(const DeformGeometry& g, int64_t batch, const T* x, const T* offset, const T* weight, const T* dy,
                     T* dx, T* doffset, T* dweight, T* scratch) {
  int64_t plane = g.height * g.width, out_plane = g.out_h * g.out_w, taps = g.taps();
  int64_t image = g.channels * plane, offsets = 2 * taps * out_plane, slices = row_slices(g, batch);
  T* dx_partial = scratch;                                 // [batch][slices − 1][C, H, W]
  T* dw_partial = scratch + batch * (slices - 1) * image;  // [batch · slices][C, taps]
  parallel_for(0, batch * slices, 1, [&](int64_t lo, int64_t hi) {
    std::vector<DeformSample<T>> table;
    for (int64_t item = lo; item < hi; ++item) {
      int64_t n = item / slices, slice = item % slices;
      const T *xn = x + n * image, *dyn = dy + n * g.channels * out_plane;
      T* dxn = slice == 0 ? dx + n * image : dx_partial + (n * (slices - 1) + slice - 1) * image;
      T* dw = dw_partial + item * g.channels * taps;
      std::fill(dxn, dxn + image, T(0));
      std::fill(dw, dw + g.channels * taps, T(0));
      for (int64_t oy = slice * g.out_h / slices; oy < (slice + 1) * g.out_h / slices; ++oy) {
        row_samples(g, offset + n * offsets, oy, table);
        for (int64_t t = 0; t < taps; ++t) {
          const DeformSample<T>* row = table.data() + t * g.out_w;
          T* off_y = doffset + n * offsets + (2 * t) * out_plane + oy * g.out_w;
          T* off_x = off_y + out_plane;
          std::fill(off_y, off_y + g.out_w, T(0));
          std::fill(off_x, off_x + g.out_w, T(0));
          for (int64_t c = 0; c < g.channels; ++c) {
            const T *xc = xn + c * plane, *dyr = dyn + c * out_plane + oy * g.out_w;
            T* dxc = dxn + c * plane;
            T wct = weight[c * taps + t], dwt = 0;
            for (int64_t ox = 0; ox < g.out_w; ++ox) {
              const DeformSample<T>& s = row[ox];
              dwt += dyr[ox] * deform_combine(s.value, s, xc);
              T d = dyr[ox] * wct;
              off_y[ox] += d * deform_combine(s.grad_y, s, xc);
              off_x[ox] += d * deform_combine(s.grad_x, s, xc);
              for (int k = 0; k < 4; ++k) dxc[s.index[k]] += s.value[k] * d;
            }
            dw[c * taps + t] += dwt;
          }
        }
      }
    }
  });
  if (slices > 1)
    parallel_for(0, batch * g.channels, 1, [&](int64_t lo, int64_t hi) {
      for (int64_t job = lo; job < hi; ++job) {
        int64_t n = job / g.channels, c = job % g.channels;
        T* out = dx + n * image + c * plane;
        for (int64_t slice = 1; slice < slices; ++slice) {
          const T* part = dx_partial + (n * (slices - 1) + slice - 1) * image + c * plane;
          for (int64_t i = 0; i < plane; ++i) out[i] += part[i];
        }
      }
    });
  for (int64_t item = 0; item < batch * slices; ++item)
    for (int64_t i = 0; i < g.channels * taps; ++i) dweight[i] += dw_partial[item * g.channels * taps + i];
}

// ---- channels-last kernels: float, C a multiple of 8, AVX2 ----------------

void channels_last_forward(const DeformGeometry& g, int64_t batch, const float* x, const float* offset,
                           const float* weight, float* y, float* scratch) {
  int64_t plane = g.height * g.width, out_plane = g.out_h * g.out_w, taps = g.taps(), c = g.channels;
  float* xt = scratch;                 // [batch][H·W, C]
  float* wt = xt + batch * c * plane;  // [taps, C]
  transpose(batch, c, plane, x, xt);
  transpose(1, c, taps, weight, wt);
  parallel_for(0, batch * g.out_h, 1, [&](int64_t lo, int64_t hi) {
    std::vector<DeformSample<float>> table;
    std::vector<float> y_row(size_t(g.out_w * c));
    for (int64_t job = lo; job < hi; ++job) {
      int64_t n = job / g.out_h, oy = job % g.out_h;
      row_samples(g, offset + n * 2 * taps * out_plane, oy, table);
      deform_avx2::forward_row(c, g.out_w, taps, table.data(), xt + n * c * plane, wt, y_row.data());
      for (int64_t ch = 0; ch < c; ++ch) {
        float* out = y + (n * c + ch) * out_plane + oy * g.out_w;
        for (int64_t ox = 0; ox < g.out_w; ++ox) out[ox] = y_row[size_t(ox * c + ch)];
      }
    }
  });
}

// As planar_backward, over channels-last copies of x and dy, into
// channels-last dx buffers (one per item) transposed and summed at the end.
void channels_last_backward(const DeformGeometry& g, int64_t batch, const float* x, const float* offset,
                            const float* weight, const float* dy, float* dx, float* doffset, float* dweight,
                            float* scratch) {
  int64_t plane = g.height * g.width, out_plane = g.out_h * g.out_w, taps = g.taps(), c = g.channels;
  int64_t image = c * plane, offsets = 2 * taps * out_plane, slices = row_slices(g, batch), items = batch * slices;
  float* xt = scratch;                       // [batch][H·W, C]
  float* dyt = xt + batch * image;           // [batch][Ho·Wo, C]
  float* dxt = dyt + batch * c * out_plane;  // [items][H·W, C]
  float* dw = dxt + items * image;           // [items][taps, C]
  float* wt = dw + items * taps * c;         // [taps, C]
  transpose(batch, c, plane, x, xt);
  transpose(batch, c, out_plane, dy, dyt);
  transpose(1, c, taps, weight, wt);
  parallel_for(0, items, 1, [&](int64_t lo, int64_t hi) {
    std::vector<DeformSample<float>> table;
    for (int64_t item = lo; item < hi; ++item) {
      int64_t n = item / slices, slice = item % slices;
      float *dx_item = dxt + item * image, *dw_item = dw + item * taps * c;
      std::fill(dx_item, dx_item + image, 0.0f);
      std::fill(dw_item, dw_item + taps * c, 0.0f);
      for (int64_t oy = slice * g.out_h / slices; oy < (slice + 1) * g.out_h / slices; ++oy) {
        row_samples(g, offset + n * offsets, oy, table);
        deform_avx2::backward_row(c, g.out_w, taps, table.data(), xt + n * image,
                                  dyt + (n * out_plane + oy * g.out_w) * c, wt, dw_item, dx_item,
                                  doffset + n * offsets + oy * g.out_w, out_plane);
      }
    }
  });
  // dx[n, ch, p] = Σ over the image's slices of dxt[item, p, ch], in blocks of pixels.
  constexpr int64_t kBlock = 64;
  int64_t blocks = (plane + kBlock - 1) / kBlock;
  parallel_for(0, batch * blocks, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t job = lo; job < hi; ++job) {
      int64_t n = job / blocks, p0 = (job % blocks) * kBlock, p1 = std::min(plane, p0 + kBlock);
      for (int64_t ch = 0; ch < c; ++ch) {
        float* out = dx + n * image + ch * plane;
        for (int64_t p = p0; p < p1; ++p) out[p] = dxt[n * slices * image + p * c + ch];
        for (int64_t slice = 1; slice < slices; ++slice)
          for (int64_t p = p0; p < p1; ++p) out[p] += dxt[(n * slices + slice) * image + p * c + ch];
      }
    }
  });
  for (int64_t item = 0; item < items; ++item)
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t t = 0; t < taps; ++t) dweight[ch * taps + t] += dw[(item * taps + t) * c + ch];
}

template <typename T>
int64_t forward_scratch(const DeformGeometry& g, int64_t batch) {
  return channels_last<T>(g) ? batch * g.channels * g.height * g.width + g.taps() * g.channels : 0;
}

template <typename T>
int64_t backward_scratch(const DeformGeometry& g, int64_t batch) {
  int64_t image = g.channels * g.height * g.width, slices = row_slices(g, batch), weights = g.channels * g.taps();
  if (!channels_last<T>(g)) return batch * (slices - 1) * image + batch * slices * weights;
  return batch * image + batch * g.channels * g.pixels() + batch * slices * (image + weights) + weights;
}

// Scratch of the step's allocator (planned like every tensor of a step).
template <typename T>
Tensor scratch(int64_t count) {
  return Tensor::empty({count}, dtype_of<T>::value, Device::cpu());
}

}  // namespace

namespace cpu_ops {

template <typename T>
void deform_depthwise_forward(const DeformGeometry& g, int64_t batch, const T* x, const T* offset, const T* weight,
                              T* y) {
  Tensor buffer = scratch<T>(forward_scratch<T>(g, batch));
  if constexpr (std::is_same_v<T, float>)
    if (channels_last<T>(g)) return channels_last_forward(g, batch, x, offset, weight, y, buffer.data<T>());
  planar_forward(g, batch, x, offset, weight, y);
}

template <typename T>
void deform_depthwise_backward(const DeformGeometry& g, int64_t batch, const T* x, const T* offset, const T* weight,
                               const T* dy, T* dx, T* doffset, T* dweight) {
  Tensor buffer = scratch<T>(backward_scratch<T>(g, batch));
  if constexpr (std::is_same_v<T, float>)
    if (channels_last<T>(g))
      return channels_last_backward(g, batch, x, offset, weight, dy, dx, doffset, dweight, buffer.data<T>());
  planar_backward(g, batch, x, offset, weight, dy, dx, doffset, dweight, buffer.data<T>());
}

#define INSTANTIATE(T)                                                                                               \
  template void deform_depthwise_forward<T>(const DeformGeometry&, int64_t, const T*, const T*, const T*, T*);       \
  template void deform_depthwise_backward<T>(const DeformGeometry&, int64_t, const T*, const T*, const T*, const T*, \
                                             T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace cpu_ops

}  // namespace dmdlk
