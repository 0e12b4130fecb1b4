// The operands and epilogues of the tiled GEMM (tiled_gemm.cuh): operands
// A (m × k) and B (k × n) as a line part and a depth part per element (see
// `element` below), epilogues as out(b, split, row, col, value), b the batch
// item. One kernel so serves dense products, convolutions that gather their
// columns straight from the image (no column buffer: forward, input and
// weight gradients over the whole batch at once) and attention. Host and
// device alike: test_gemm_operands checks each gather against the layout it
// stands for on the CPU (im2col), and every store against its tensor's
// bounds. Callers guarantee row < m, k < K and col < n; gathers return 0
// outside the image.
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

// Division by a fixed small divisor as a multiply-high: m = ceil(2^32 / d),
// and floor(n / d) = (n · m) >> 32 exactly while n · d < 2^32 (n·m/2^32
// exceeds n/d by less than n·d/2^32 · 1/d). For a convolution's stride
// (d ≤ 64) and a coordinate in its padded image (n < 2^24): the input
// gradient's gather divides by the stride with no division in the K loop.
struct SmallDivisor {
  uint32_t d = 1, m = 0;
  static SmallDivisor of(int64_t divisor) {
    return {uint32_t(divisor),
            divisor == 1 ? 0u : uint32_t(((uint64_t(1) << 32) + uint64_t(divisor) - 1) / uint64_t(divisor))};
  }
  DMDLK_HD uint32_t divide(uint32_t n) const { return d == 1 ? n : uint32_t((uint64_t(n) * m) >> 32); }
};

// Where batch item b starts: items come in runs of `inner_count` (e.g. the
// heads of one window) `inner_stride` apart, runs `outer_stride` apart. A
// 32-bit division: the items are a grid's z extent, below 65536.
struct BatchOffset {
  int64_t inner_count = 1, outer_stride = 0, inner_stride = 0;
  DMDLK_HD int64_t operator()(int64_t b) const {
    const uint32_t item = uint32_t(b), count = uint32_t(inner_count);
    return int64_t(item / count) * outer_stride + int64_t(item % count) * inner_stride;
  }
  static BatchOffset strided(int64_t stride) { return {1, stride, 0}; }
};

// Every operand splits the address of its element (line, k) — line a row of
// A or a column of B — into a part of the line and a part of k:
//   Line line(batch, line)   decomposed once per thread (its lines are fixed
//                            for the whole K loop), the batch item's offset in it;
//   Depth depth(k)           decomposed once per k per block, into a table in
//                            shared memory that the block's threads read;
//   Value load(Line, Depth)  the element, from the two parts by additions and
//                            bounds checks only (0 in a convolution's padding).
// along_k(): whether neighbouring k are neighbouring in memory (which way the
// loading threads walk, for coalescing). So the K loop holds no division.
template <class Operand>
DMDLK_HD typename Operand::Value element(const Operand& op, int64_t batch, int64_t line, int64_t k) {
  return op.load(op.line(batch, line), op.depth(k));
}

// Element (r, c) of a row-major matrix, or of its transpose when `trans`.
template <typename T>
struct DenseMatrix {
  using Value = T;
  using Line = int64_t;   // offset of the line (batch item included)
  using Depth = int64_t;  // offset of k along it
  const T* data;
  int64_t ld;
  bool trans;
  BatchOffset batch;
  DMDLK_HD T load(Line line, Depth depth) const { return data[line + depth]; }
};
template <typename T>
struct DenseA : DenseMatrix<T> {  // A: m × k
  DMDLK_HD int64_t line(int64_t b, int64_t row) const { return this->batch(b) + (this->trans ? row : row * this->ld); }
  DMDLK_HD int64_t depth(int64_t k) const { return this->trans ? k * this->ld : k; }
  DMDLK_HD bool along_k() const { return !this->trans; }
};
template <typename T>
struct DenseB : DenseMatrix<T> {  // B: k × n
  DMDLK_HD int64_t line(int64_t b, int64_t col) const { return this->batch(b) + (this->trans ? col * this->ld : col); }
  DMDLK_HD int64_t depth(int64_t k) const { return this->trans ? k : k * this->ld; }
  DMDLK_HD bool along_k() const { return this->trans; }
};

// A filter tap (c, i, j) of a convolution: where it reads relative to its
// window's corner (channel c's plane, i·dilation rows down, j·dilation
// across), within one image (32 bits: conv2d.cu checks that an image's
// channels fit). No default member values: tables of them live in __shared__.
struct ConvTap {
  int offset;
  int dy, dx;
};
// An output pixel's window: its image's planes and the window's corner,
// which may lie in the padding (y, x < 0), as one offset and as a position.
struct ConvWindow {
  int64_t at;
  int y, x;
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
  // Row k = (c, i, j) of the columns: the tap, channel c of the group.
  DMDLK_HD ConvTap tap(int64_t k) const {
    int64_t c, t, i, j;
    split_index(k, taps(), c, t), split_index(t, geo.kernel_w, i, j);
    int dy = int(i * geo.dilation_h), dx = int(j * geo.dilation_w);
    return {int(c * in_plane() + dy * geo.width + dx), dy, dx};
  }
  // Column n = (image, oy, ox) of the columns: the window, group 0's first channel.
  DMDLK_HD ConvWindow window(int64_t n) const {
    int64_t image, q, oy, ox;
    split_index(n, out_plane(), image, q), split_index(q, geo.out_w, oy, ox);
    int y = int(oy * geo.stride_h - geo.pad_h), x = int(ox * geo.stride_w - geo.pad_w);
    return {image * in_channels() * in_plane() + y * geo.width + x, y, x};
  }
  DMDLK_HD int group_offset(int64_t g) const { return int(g * in_group * in_plane()); }
  // The input under `tap` of `window`, `outside` in the padding (one unsigned compare per axis).
  template <typename T>
  DMDLK_HD T read(const T* x, const ConvWindow& window, const ConvTap& tap, T outside = T(0)) const {
    int iy = window.y + tap.dy, ix = window.x + tap.dx;
    bool inside = uint32_t(iy) < uint32_t(geo.height) && uint32_t(ix) < uint32_t(geo.width);
    return inside ? x[window.at + tap.offset] : outside;
  }
};

// A column of the weight gradient's B: a tap, whose reads give 0 in the
// padding, or the column of ones just past the last tap, a tap that lies
// outside every window and gives 1 there: its product with dy is the bias
// gradient, in the same launch. No extra work in the K loop: the read's
// bounds check already chooses between the load and `outside`.
template <typename T>
struct ColumnTap {
  ConvTap tap;
  T outside;
};
constexpr int kOnesTapShift = -(1 << 29);  // below any window's corner: never inside the image

// Forward, B (K = Cin/G·kh·kw rows, N = images·Ho·Wo columns): the columns
// of x. A thread's column is a window; the k's are taps.
template <typename T>
struct ConvColumns {
  using Value = T;
  using Line = ConvWindow;
  using Depth = ConvTap;
  const T* x;
  ConvDims d;
  DMDLK_HD ConvWindow line(int64_t g, int64_t n) const {
    ConvWindow w = d.window(n);
    w.at += d.group_offset(g);
    return w;
  }
  DMDLK_HD ConvTap depth(int64_t k) const { return d.tap(k); }
  DMDLK_HD T load(const ConvWindow& w, const ConvTap& t) const { return d.read(x, w, t); }
  DMDLK_HD bool along_k() const { return false; }
};

// Weight gradient, B (K = images·Ho·Wo rows, N = Cin/G·kh·kw, plus one
// column of ones where the product also makes the bias gradient): the
// columns, transposed. A thread's columns are taps; the k's are windows.
template <typename T>
struct ConvColumnsT {
  using Value = T;
  using Line = ColumnTap<T>;
  using Depth = ConvWindow;
  const T* x;
  ConvDims d;
  DMDLK_HD ColumnTap<T> line(int64_t g, int64_t col) const {
    if (col >= d.in_group * d.taps()) return {{0, kOnesTapShift, kOnesTapShift}, T(1)};
    ConvTap t = d.tap(col);
    t.offset += d.group_offset(g);
    return {t, T(0)};
  }
  DMDLK_HD ConvWindow depth(int64_t k) const { return d.window(k); }
  DMDLK_HD T load(const ColumnTap<T>& t, const ConvWindow& w) const { return d.read(x, w, t.tap, t.outside); }
  DMDLK_HD bool along_k() const { return true; }
};

// Weight gradient, A (M = Cout/G rows, K = images·Ho·Wo): dy, image by image.
template <typename T>
struct OutputRows {
  using Value = T;
  using Line = int;       // the channel's plane in image 0
  using Depth = int64_t;  // (image, pixel)
  const T* dy;
  ConvDims d;
  DMDLK_HD int line(int64_t g, int64_t row) const { return int((g * d.out_group + row) * d.out_plane()); }
  DMDLK_HD int64_t depth(int64_t k) const {
    int64_t image, q;
    split_index(k, d.out_plane(), image, q);
    return image * d.out_channels() * d.out_plane() + q;
  }
  DMDLK_HD T load(int line, int64_t depth) const { return dy[line + depth]; }
  DMDLK_HD bool along_k() const { return true; }
};

// Input gradient, A (M = Cin/G rows, K = Cout/G·kh·kw): the weight, transposed
// per group: element (c, (co, i, j)) is w[g·Cout/G + co][c][i][j].
template <typename T>
struct WeightT {
  using Value = T;
  using Line = int;   // input channel c of group g, output channel 0
  using Depth = int;  // (co, tap)
  const T* w;
  ConvDims d;
  DMDLK_HD int line(int64_t g, int64_t row) const { return int((g * d.out_group * d.in_group + row) * d.taps()); }
  DMDLK_HD int depth(int64_t k) const {
    int64_t co, tap;
    split_index(k, d.taps(), co, tap);
    return int(co * d.in_group * d.taps() + tap);
  }
  DMDLK_HD T load(int line, int depth) const { return w[line + depth]; }
  DMDLK_HD bool along_k() const { return true; }
};

// Input gradient, B (K = Cout/G·kh·kw rows, N = images·H·W columns): the dy
// that tap (co, i, j) of input pixel (image, y, x) met, 0 where the tap fell
// between strides or outside the output. A thread's column is a pixel (Line:
// dy's planes of its image and group, y + pad, x + pad); the k's are taps
// (Depth: output channel co's plane, i·dilation, j·dilation).
template <typename T>
struct OutputTaps {
  using Value = T;
  using Line = ConvWindow;
  using Depth = ConvTap;
  const T* dy;
  ConvDims d;
  SmallDivisor stride_y, stride_x;
  OutputTaps(const T* dy, const ConvDims& d)
      : dy(dy), d(d), stride_y(SmallDivisor::of(d.geo.stride_h)), stride_x(SmallDivisor::of(d.geo.stride_w)) {}
  DMDLK_HD ConvWindow line(int64_t g, int64_t n) const {
    int64_t image, p, y, x;
    split_index(n, d.in_plane(), image, p), split_index(p, d.geo.width, y, x);
    return {(image * d.out_channels() + g * d.out_group) * d.out_plane(), int(y + d.geo.pad_h), int(x + d.geo.pad_w)};
  }
  DMDLK_HD ConvTap depth(int64_t k) const {
    int64_t co, tap, i, j;
    split_index(k, d.taps(), co, tap), split_index(tap, d.geo.kernel_w, i, j);
    return {int(co * d.out_plane()), int(i * d.geo.dilation_h), int(j * d.geo.dilation_w)};
  }
  DMDLK_HD T load(const ConvWindow& pixel, const ConvTap& tap) const {
    const ConvGeometry& geo = d.geo;
    int ty = pixel.y - tap.dy, tx = pixel.x - tap.dx;
    if (ty < 0 || tx < 0) return T(0);
    int oy = ty, ox = tx;
    if (geo.stride_h != 1 || geo.stride_w != 1) {  // only where the convolution strides
      oy = int(stride_y.divide(uint32_t(ty))), ox = int(stride_x.divide(uint32_t(tx)));
      if (oy * int(geo.stride_h) != ty || ox * int(geo.stride_w) != tx) return T(0);
    }
    if (oy >= int(geo.out_h) || ox >= int(geo.out_w)) return T(0);
    return dy[pixel.at + tap.offset + oy * geo.out_w + ox];
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
  const T* col_bias = nullptr;  // added to column j where given (a linear layer's bias)
  DMDLK_HD void operator()(int64_t b, int64_t, int64_t row, int64_t col, T value) const {
    T* out = c + batch(b) + row * ldc + col;
    *out = alpha * value + (col_bias ? col_bias[col] : T(0)) + (beta == T(0) ? T(0) : beta * *out);
  }
};

// A convolution's weight gradient, group b's rows (output channels) and
// columns (Cin/G·kh·kw) into dw, and the column past them, where the
// product has it (ConvColumnsT's ones), into the bias gradient db.
template <typename T>
struct WeightGradStore {
  T* dw;
  T* db;  // null: no bias column
  int64_t group_rows, cols;
  DMDLK_HD void operator()(int64_t g, int64_t, int64_t row, int64_t col, T value) const {
    if (col == cols) db[g * group_rows + row] = value;
    else dw[(g * group_rows + row) * cols + col] = value;
  }
};

// Rows are channels of group b, columns (image, pixel): an NCHW tensor of
// `channels` × `plane`, plus the channel's bias and the residual's element
// where given; with `accumulate`, added to what the tensor holds (a
// gradient summed in place).
template <typename T>
struct PlaneStore {
  T* out;
  const T* bias;  // may be null
  int64_t channels, group_rows, plane;
  bool accumulate = false;
  const T* residual = nullptr;  // of out's layout
  DMDLK_HD void operator()(int64_t g, int64_t, int64_t row, int64_t col, T value) const {
    int64_t channel = g * group_rows + row, image, p;
    split_index(col, plane, image, p);
    const int64_t index = (image * channels + channel) * plane + p;
    T& at = out[index];
    at = value + (bias ? bias[channel] : T(0)) + (residual ? residual[index] : T(0)) + (accumulate ? at : T(0));
  }
};

// A split's partial tile, into the workspace [split][batch][m][n]; the last
// split of a tile to arrive (its counter among `arrivals`, one per tile and
// batch item) adds the tile's partials up (tiled_gemm.cuh).
template <typename T>
struct SplitStore {
  T* workspace;
  unsigned* arrivals;
  int64_t batch, m, n;
  DMDLK_HD int64_t at(int64_t b, int64_t split, int64_t row, int64_t col) const {
    return ((split * batch + b) * m + row) * n + col;
  }
  DMDLK_HD void operator()(int64_t b, int64_t split, int64_t row, int64_t col, T value) const {
    workspace[at(b, split, row, col)] = value;
  }
};

// The epilogue a kernel is built with: the product's own, or, when K is
// split, the workspace (one instantiation serves both: half the GPU code).
template <typename T, class Out>
struct OutOrSplit {
  Out out;
  SplitStore<T> partial;  // workspace null: K not split
  DMDLK_HD void operator()(int64_t b, int64_t split, int64_t row, int64_t col, T value) const {
    if (partial.workspace) partial(b, split, row, col, value);
    else out(b, split, row, col, value);
  }
};

}  // namespace dmdlk::cuda_ops
