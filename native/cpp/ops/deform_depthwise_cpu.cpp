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

template <typename T>
void cpu_deform_depthwise_backward(const DeformGeometry& g, const T* x, const T* offset, const T* weight, const T* dy,
                                   T* dx, T* doffset, T* dweight) {
  int64_t plane = g.height * g.width, out_plane = g.out_h * g.out_w;
  // dx and dweight: channel groups, each writing only its own channels.
  int64_t groups = std::min<int64_t>(g.channels, 4 * ThreadPool::global().threads());
  parallel_for(0, groups, 1, [&](int64_t lo, int64_t hi) {
    std::vector<Sample<T>> table;
    for (int64_t group = lo; group < hi; ++group) {
      int64_t c0 = group * g.channels / groups, c1 = (group + 1) * g.channels / groups;
      std::fill(dx + c0 * plane, dx + c1 * plane, T(0));
      for (int64_t oy = 0; oy < g.out_h; ++oy) {
        row_samples(g, offset, oy, table);
        for (int64_t c = c0; c < c1; ++c) {
          const T *xc = x + c * plane, *dyr = dy + c * out_plane + oy * g.out_w, *wc = weight + c * g.taps();
          T* dxc = dx + c * plane;
          for (int64_t t = 0; t < g.taps(); ++t) {
            const Sample<T>* row = table.data() + t * g.out_w;
            T dw = 0;
            for (int64_t ox = 0; ox < g.out_w; ++ox) {
              const Sample<T>& s = row[ox];
              dw += dyr[ox] * sample_value(s, xc);
              T d = dyr[ox] * wc[t];
              for (int k = 0; k < 4; ++k) dxc[s.index[k]] += s.weight[k] * d;
            }
            dweight[c * g.taps() + t] += dw;
          }
        }
      }
    }
  });
  // doffset: output rows, each summing over every channel for its own pixels.
  parallel_for(0, g.out_h, 1, [&](int64_t lo, int64_t hi) {
    std::vector<Sample<T>> table;
    for (int64_t oy = lo; oy < hi; ++oy) {
      row_samples(g, offset, oy, table);
      for (int64_t t = 0; t < g.taps(); ++t) {
        const Sample<T>* row = table.data() + t * g.out_w;
        T* off_y = doffset + (2 * t) * out_plane + oy * g.out_w;
        T* off_x = doffset + (2 * t + 1) * out_plane + oy * g.out_w;
        std::fill(off_y, off_y + g.out_w, T(0));
        std::fill(off_x, off_x + g.out_w, T(0));
        for (int64_t c = 0; c < g.channels; ++c) {
          const T *xc = x + c * plane, *dyr = dy + c * out_plane + oy * g.out_w;
          T wct = weight[c * g.taps() + t];
          for (int64_t ox = 0; ox < g.out_w; ++ox) {
            const Sample<T>& s = row[ox];
            T v00 = s.valid[0] * xc[s.index[0]], v01 = s.valid[1] * xc[s.index[1]];
            T v10 = s.valid[2] * xc[s.index[2]], v11 = s.valid[3] * xc[s.index[3]];
            T d = dyr[ox] * wct, hy = T(1) - s.ly, hx = T(1) - s.lx;
            off_y[ox] += d * (hx * (v10 - v00) + s.lx * (v11 - v01));
            off_x[ox] += d * (hy * (v01 - v00) + s.ly * (v11 - v10));
          }
        }
      }
    }
  });
}

template void cpu_deform_depthwise_forward<float>(const DeformGeometry&, const float*, const float*, const float*, float*);
template void cpu_deform_depthwise_forward<double>(const DeformGeometry&, const double*, const double*, const double*, double*);
template void cpu_deform_depthwise_backward<float>(const DeformGeometry&, const float*, const float*, const float*,
                                                   const float*, float*, float*, float*);
template void cpu_deform_depthwise_backward<double>(const DeformGeometry&, const double*, const double*, const double*,
                                                    const double*, double*, double*, double*);

}  // namespace dmdlk
