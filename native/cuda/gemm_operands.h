// The operands and epilogues of the tiled GEMM (tiled_gemm.cuh) as functors
// the kernel calls per element: A(b, row, k), B(b, k, col) and
// out(b, split, row, col, value), b the batch item. One kernel so serves dense
// products, convolutions that gather their columns straight from the image
// (no column buffer: forward, input and weight gradients over the whole
// batch at once) and attention. Host and device alike: test_gemm_operands
// checks each gather against the layout it stands for on the CPU (im2col),
// and every store against its tensor's bounds. Callers guarantee
// row < m, k < K and col < n; gathers return 0 outside the image.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "ops/conv_geometry.h"

namespace dmdlk::cuda_ops {

// Index decomposition in 32 bits (64-bit division is emulated on the GPU and
// several times slower): conv2d.cu checks that every index of a convolution
// fits. Addresses stay 64-bit.
DMDLK_HD void split_index(int64_t a, int64_t b, int64_t& quotient, int64_t& remainder) {
  uint32_t q = uint32_t(a) / uint32_t(b);
  quotient = q, remainder = int64_t(uint32_t(a) - q * uint32_t(b));
}

// Element e of a bm×bk slice of A (or bk×bn of B), walked along k or along
// the rows (columns), whichever the operand stores contiguously.
DMDLK_HD void slice_element(int e, int rows, int depth, bool along_k, int& row, int& p) {
  if (along_k) row = e / depth, p = e % depth;
  else p = e / rows, row = e % rows;
}

// Where batch item b starts: items come in runs of `inner_count` (e.g. the
// heads of one window) `inner_stride` apart, runs `outer_stride` apart.
struct BatchOffset {
  int64_t inner_count = 1, outer_stride = 0, inner_stride = 0;
  DMDLK_HD int64_t operator()(int64_t b) const {
    return (b / inner_count) * outer_stride + (b % inner_count) * inner_stride;
  }
  static BatchOffset strided(int64_t stride) { return {1, stride, 0}; }
};

// Element (r, c) of a row-major matrix, or of its transpose when `trans`.
// kAlongK: whether neighbouring k are neighbouring in memory (which way the
// kernel's loading threads should walk, for coalescing).
template <typename T>
struct DenseMatrix {
  const T* data;
  int64_t ld;
  bool trans;
  BatchOffset batch;
  DMDLK_HD T at(int64_t b, int64_t r, int64_t c) const {
    const T* p = data + batch(b);
    return trans ? p[c * ld + r] : p[r * ld + c];
  }
};
template <typename T>
struct DenseA : DenseMatrix<T> {  // A: m × k
  DMDLK_HD T operator()(int64_t b, int64_t row, int64_t k) const { return this->at(b, row, k); }
  DMDLK_HD bool along_k() const { return !this->trans; }
};
template <typename T>
struct DenseB : DenseMatrix<T> {  // B: k × n
  DMDLK_HD T operator()(int64_t b, int64_t k, int64_t col) const { return this->at(b, k, col); }
  DMDLK_HD bool along_k() const { return this->trans; }
};

// A convolution over the whole batch, group b = g: its Cin/G input channels
// ("in_group"), Cout/G output channels ("out_group"), images of `geo`.
struct ConvDims {
  ConvGeometry geo;
  int64_t images = 1, groups = 1, in_group = 0, out_group = 0;
  DMDLK_HD int64_t taps() const { return geo.kernel_h * geo.kernel_w; }
  DMDLK_HD int64_t out_plane() const { return geo.out_h * geo.out_w; }
  DMDLK_HD int64_t in_plane() const { return geo.height * geo.width; }
  DMDLK_HD int64_t in_channels() const { return groups * in_group; }
  DMDLK_HD int64_t out_channels() const { return groups * out_group; }
  // Column k of the filter (c, i, j) and column n of the output (image, oy, ox): the
  // input value under that tap, 0 in the padding.
  template <typename T>
  DMDLK_HD T column(const T* x, int64_t g, int64_t k, int64_t n) const {
    int64_t c, tap, i, j, image, q, oy, ox;
    split_index(k, taps(), c, tap), split_index(tap, geo.kernel_w, i, j);
    split_index(n, out_plane(), image, q), split_index(q, geo.out_w, oy, ox);
    int64_t iy = oy * geo.stride_h - geo.pad_h + i * geo.dilation_h;
    int64_t ix = ox * geo.stride_w - geo.pad_w + j * geo.dilation_w;
    if (iy < 0 || iy >= geo.height || ix < 0 || ix >= geo.width) return T(0);
    return x[(image * in_channels() + g * in_group + c) * in_plane() + iy * geo.width + ix];
  }
};

// Forward, B (K = Cin/G·kh·kw rows, N = images·Ho·Wo columns): the columns of x.
template <typename T>
struct ConvColumns {
  const T* x;
  ConvDims d;
  DMDLK_HD T operator()(int64_t g, int64_t k, int64_t n) const { return d.column(x, g, k, n); }
  DMDLK_HD bool along_k() const { return false; }
};

// Weight gradient, A (M = Cout/G rows, K = images·Ho·Wo): dy, image by image.
template <typename T>
struct OutputRows {
  const T* dy;
  ConvDims d;
  DMDLK_HD T operator()(int64_t g, int64_t row, int64_t k) const {
    int64_t image, q;
    split_index(k, d.out_plane(), image, q);
    return dy[(image * d.out_channels() + g * d.out_group + row) * d.out_plane() + q];
  }
  DMDLK_HD bool along_k() const { return true; }
};

// Weight gradient, B (K = images·Ho·Wo rows, N = Cin/G·kh·kw): the columns, transposed.
template <typename T>
struct ConvColumnsT {
  const T* x;
  ConvDims d;
  DMDLK_HD T operator()(int64_t g, int64_t k, int64_t col) const { return d.column(x, g, col, k); }
  DMDLK_HD bool along_k() const { return true; }
};

// Input gradient, A (M = Cin/G rows, K = Cout/G·kh·kw): the weight, transposed
// per group: element (c, (co, i, j)) is w[g·Cout/G + co][c][i][j].
template <typename T>
struct WeightT {
  const T* w;
  ConvDims d;
  DMDLK_HD T operator()(int64_t g, int64_t row, int64_t k) const {
    int64_t co, tap;
    split_index(k, d.taps(), co, tap);
    return w[((g * d.out_group + co) * d.in_group + row) * d.taps() + tap];
  }
  DMDLK_HD bool along_k() const { return true; }
};

// Input gradient, B (K = Cout/G·kh·kw rows, N = images·H·W columns): the dy
// that tap (co, i, j) of input pixel (image, y, x) met, 0 where the tap fell
// between strides or outside the output.
template <typename T>
struct OutputTaps {
  const T* dy;
  ConvDims d;
  DMDLK_HD T operator()(int64_t g, int64_t k, int64_t n) const {
    const ConvGeometry& geo = d.geo;
    int64_t co, tap, i, j, image, p, y, x;
    split_index(k, d.taps(), co, tap), split_index(tap, geo.kernel_w, i, j);
    split_index(n, d.in_plane(), image, p), split_index(p, geo.width, y, x);
    int64_t ty = y + geo.pad_h - i * geo.dilation_h, tx = x + geo.pad_w - j * geo.dilation_w;
    if (ty < 0 || tx < 0) return T(0);
    int64_t oy, ry, ox, rx;
    split_index(ty, geo.stride_h, oy, ry), split_index(tx, geo.stride_w, ox, rx);
    if (ry != 0 || rx != 0) return T(0);
    if (oy >= geo.out_h || ox >= geo.out_w) return T(0);
    return dy[(image * d.out_channels() + g * d.out_group + co) * d.out_plane() + oy * geo.out_w + ox];
  }
  DMDLK_HD bool along_k() const { return false; }
};

// ---- epilogues ------------------------------------------------------------------

// C = alpha · product + beta · C (beta 0 overwrites: NaN in C never leaks through).
template <typename T>
struct DenseStore {
  T* c;
  int64_t ldc;
  BatchOffset batch;
  T alpha = 1, beta = 0;
  DMDLK_HD void operator()(int64_t b, int64_t, int64_t row, int64_t col, T value) const {
    T* out = c + batch(b) + row * ldc + col;
    *out = alpha * value + (beta == T(0) ? T(0) : beta * *out);
  }
};

// Rows are channels of group b, columns (image, pixel): an NCHW tensor of
// `channels` × `plane`, plus the channel's bias where given.
template <typename T>
struct PlaneStore {
  T* out;
  const T* bias;  // may be null
  int64_t channels, group_rows, plane;
  DMDLK_HD void operator()(int64_t g, int64_t, int64_t row, int64_t col, T value) const {
    int64_t channel = g * group_rows + row, image, p;
    split_index(col, plane, image, p);
    out[(image * channels + channel) * plane + p] = value + (bias ? bias[channel] : T(0));
  }
};

// A split's partial tile, into the workspace [split][batch][m][n].
template <typename T>
struct SplitStore {
  T* workspace;
  int64_t batch, m, n;
  DMDLK_HD void operator()(int64_t b, int64_t split, int64_t row, int64_t col, T value) const {
    workspace[((split * batch + b) * m + row) * n + col] = value;
  }
};

}  // namespace dmdlk::cuda_ops
