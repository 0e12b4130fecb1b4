#include "ops/deform_depthwise_cpu.h"

#include <algorithm>
#include <vector>

#include "core/thread_pool.h"

namespace dmdlk {

namespace {

// One sample point: its four corners (index into a plane, 0 when outside) with
// the bilinear weights of the value (0 when that corner, or the whole point,
// is outside) and the validity of each corner for the coordinate gradient
// (torchvision checks corners one by one there, with no early exit).
template <typename T>
struct Sample {
  int32_t index[4];
  T weight[4];
  T valid[4];
  T ly, lx;
};

template <typename T>
Sample<T> make_sample(const DeformGeometry& g, T y, T x) {
  Sample<T> s;
  int64_t y0 = int64_t(floor_of(y)), x0 = int64_t(floor_of(x));
  s.ly = y - T(y0), s.lx = x - T(x0);
  T hy = T(1) - s.ly, hx = T(1) - s.lx;
  bool outside = deform_outside(g.height, g.width, y, x);
  int64_t ys[4] = {y0, y0, y0 + 1, y0 + 1}, xs[4] = {x0, x0 + 1, x0, x0 + 1};
  T w[4] = {hy * hx, hy * s.lx, s.ly * hx, s.ly * s.lx};
  for (int k = 0; k < 4; ++k) {
    bool in = ys[k] >= 0 && ys[k] < g.height && xs[k] >= 0 && xs[k] < g.width;
    s.index[k] = in ? int32_t(ys[k] * g.width + xs[k]) : 0;
    s.valid[k] = in ? T(1) : T(0);
    s.weight[k] = in && !outside ? w[k] : T(0);
  }
  return s;
}

// The samples of output row oy: table[t · out_w + ox].
template <typename T>
void row_samples(const DeformGeometry& g, const T* offset, int64_t oy, std::vector<Sample<T>>& table) {
  table.resize(size_t(g.taps() * g.out_w));
  for (int64_t t = 0; t < g.taps(); ++t)
    for (int64_t ox = 0; ox < g.out_w; ++ox) {
      T y, x;
      deform_point(g, offset, 0, t, oy * g.out_w + ox, &y, &x);
      table[size_t(t * g.out_w + ox)] = make_sample(g, y, x);
    }
}

template <typename T>
T sample_value(const Sample<T>& s, const T* plane) {
  return s.weight[0] * plane[s.index[0]] + s.weight[1] * plane[s.index[1]] + s.weight[2] * plane[s.index[2]] +
         s.weight[3] * plane[s.index[3]];
}

}  // namespace

template <typename T>
void cpu_deform_depthwise_forward(const DeformGeometry& g, const T* x, const T* offset, const T* weight, T* y) {
  int64_t plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  parallel_for(0, g.out_h, 1, [&](int64_t lo, int64_t hi) {
    std::vector<Sample<T>> table;
    for (int64_t oy = lo; oy < hi; ++oy) {
      row_samples(g, offset, oy, table);
      for (int64_t c = 0; c < g.channels; ++c) {
        const T *xc = x + c * plane, *wc = weight + c * g.taps();
        T* out = y + c * out_plane + oy * g.out_w;
        std::fill(out, out + g.out_w, T(0));
        for (int64_t t = 0; t < g.taps(); ++t) {
          const Sample<T>* row = table.data() + t * g.out_w;
          for (int64_t ox = 0; ox < g.out_w; ++ox) out[ox] += wc[t] * sample_value(row[ox], xc);
        }
      }
    }
  });
}

int64_t deform_depthwise_row_slices(const DeformGeometry& g, int64_t batch) {
  int64_t threads = ThreadPool::global().threads();
  return std::clamp<int64_t>((threads + batch - 1) / std::max<int64_t>(1, batch), 1, std::max<int64_t>(1, g.out_h));
}

int64_t deform_depthwise_backward_scratch(const DeformGeometry& g, int64_t batch) {
  int64_t slices = deform_depthwise_row_slices(g, batch);
  return batch * (slices - 1) * g.channels * g.height * g.width + batch * slices * g.channels * g.taps();
}

// One pass over (image, slice of output rows) items: each computes its rows'
// sample points once and, for every tap, channel and pixel, reads the four
// corners once for all three gradients. doffset rows belong to one item;
// dx and dweight go to the item's own buffers (dx: the image's own planes for
// its first slice) and are summed in a fixed order after, so the result
// depends on the thread count only through the number of slices.
template <typename T>
void cpu_deform_depthwise_backward(const DeformGeometry& g, int64_t batch, const T* x, const T* offset, const T* weight,
                                   const T* dy, T* dx, T* doffset, T* dweight, T* scratch) {
  int64_t plane = g.height * g.width, out_plane = g.out_h * g.out_w, taps = g.taps();
  int64_t image = g.channels * plane, offsets = 2 * taps * out_plane, slices = deform_depthwise_row_slices(g, batch);
  T* dx_partial = scratch;                                         // [batch][slices − 1][C, H, W]
  T* dw_partial = scratch + batch * (slices - 1) * image;          // [batch · slices][C, taps]
  parallel_for(0, batch * slices, 1, [&](int64_t lo, int64_t hi) {
    std::vector<Sample<T>> table;
    for (int64_t item = lo; item < hi; ++item) {
      int64_t n = item / slices, slice = item % slices;
      const T *xn = x + n * image, *dyn = dy + n * g.channels * out_plane, *on = offset + n * offsets;
      T* dxn = slice == 0 ? dx + n * image : dx_partial + (n * (slices - 1) + slice - 1) * image;
      T* dw = dw_partial + item * g.channels * taps;
      std::fill(dxn, dxn + image, T(0));
      std::fill(dw, dw + g.channels * taps, T(0));
      for (int64_t oy = slice * g.out_h / slices; oy < (slice + 1) * g.out_h / slices; ++oy) {
        row_samples(g, on, oy, table);
        for (int64_t t = 0; t < taps; ++t) {
          const Sample<T>* row = table.data() + t * g.out_w;
          T* off_y = doffset + n * offsets + (2 * t) * out_plane + oy * g.out_w;
          T* off_x = off_y + out_plane;
          std::fill(off_y, off_y + g.out_w, T(0));
          std::fill(off_x, off_x + g.out_w, T(0));
          for (int64_t c = 0; c < g.channels; ++c) {
            const T *xc = xn + c * plane, *dyr = dyn + c * out_plane + oy * g.out_w;
            T* dxc = dxn + c * plane;
            T wct = weight[c * taps + t], dwt = 0;
            auto pixel = [&](int64_t ox) {
              const Sample<T>& s = row[ox];
              T v00 = xc[s.index[0]], v01 = xc[s.index[1]], v10 = xc[s.index[2]], v11 = xc[s.index[3]];
              dwt += dyr[ox] * (s.weight[0] * v00 + s.weight[1] * v01 + s.weight[2] * v10 + s.weight[3] * v11);
              T d = dyr[ox] * wct;
              v00 *= s.valid[0], v01 *= s.valid[1], v10 *= s.valid[2], v11 *= s.valid[3];
              T hy = T(1) - s.ly, hx = T(1) - s.lx;
              off_y[ox] += d * (hx * (v10 - v00) + s.lx * (v11 - v01));
              off_x[ox] += d * (hy * (v01 - v00) + s.ly * (v11 - v10));
              for (int k = 0; k < 4; ++k) dxc[s.index[k]] += s.weight[k] * d;
            };
            // Neighbouring pixels scatter into the same corners of dx: the
            // two halves of the row are interleaved so that the read-modify-
            // writes of one do not wait on the other's.
            int64_t half = g.out_w / 2;
            for (int64_t ox = 0; ox < half; ++ox) pixel(ox), pixel(ox + half);
            if (g.out_w % 2) pixel(g.out_w - 1);
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

template void cpu_deform_depthwise_forward<float>(const DeformGeometry&, const float*, const float*, const float*, float*);
template void cpu_deform_depthwise_forward<double>(const DeformGeometry&, const double*, const double*, const double*, double*);
template void cpu_deform_depthwise_backward<float>(const DeformGeometry&, int64_t, const float*, const float*,
                                                   const float*, const float*, float*, float*, float*, float*);
template void cpu_deform_depthwise_backward<double>(const DeformGeometry&, int64_t, const double*, const double*,
                                                    const double*, const double*, double*, double*, double*, double*);

}  // namespace dmdlk
