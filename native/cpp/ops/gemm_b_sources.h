// Where cpu_ops::gemm reads its B operand from. The driver asks a source for one
// strip at a time: depth [p0, p0+kc) × columns [col0, col0+cols) of op(B),
// written NR values per depth step and zero-padded to NR columns.
//   MatrixB:  B is a stored matrix (transposed or not). Full strips of an
//             untransposed B can also be read in place, a row pitch apart.
//   ColumnsB: B is the im2col matrix of one image of a convolution (rows
//             (c·kh + i)·kw + j, columns oy·Wo + ox), or its transpose,
//             gathered from the image while it is packed: the column matrix,
//             C·kh·kw × Ho·Wo values (hundreds of MB for DDLK's offset
//             convolutions), is never stored.
// Both also give the source of one batch item and of a slice of the depth.
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "ops/gemm.h"
#include "ops/im2col.h"

namespace dmdlk::gemm_detail {

// Up to this many rows of C, a strip of B (packed, or gathered for a
// convolution) serves few micro-tiles, so it is taken strip by strip; the
// driver's tiles then span all the rows, and each strip is packed once.
constexpr int64_t kMaxStripRows = 144;

template <typename T>
struct MatrixB {
  const T* b;
  int64_t ldb, stride;
  bool transposed;

  MatrixB(const GemmShape& s, const T* b) : b(b), ldb(s.ldb), stride(s.stride_b), transposed(s.trans_b) {}
  MatrixB batch_item(int64_t i) const { return with(b + i * stride); }
  MatrixB depth_slice(int64_t p0) const { return with(transposed ? b + p0 : b + p0 * ldb); }

  // With few rows of C each strip of B serves only a few micro-tiles, and with
  // a shallow depth a strip stays in L1 for all of them; either way packing a
  // whole panel would cost as much as the math (the 1×1 convolutions), so
  // strips are then taken one at a time, full ones of an untransposed B in
  // place. So are small products (up to 512³), for which the barriers of
  // panel-by-panel packing cost more than they save.
  bool per_strip(const GemmShape& s, int64_t m_strips) const {
    return (!transposed && (m_strips <= 16 || s.k <= 128)) || s.m * s.n * s.k <= (int64_t(1) << 27);
  }

  // A full strip read where it lies: NR values per depth step, ldb apart.
  const T* in_place(int64_t p0, int64_t col0, int64_t& step) const {
    step = ldb;
    return transposed ? nullptr : b + p0 * ldb + col0;
  }

  // Rows of B are copied a strip-width at a time; a transposed B is read along
  // its rows (the depth) and written NR apart: both read memory contiguously.
  template <int NR>
  void pack(int64_t p0, int64_t kc, int64_t col0, int64_t cols, T* out) const {
    if (cols < NR) std::fill(out, out + NR * kc, T(0));
    if (transposed) {
      for (int64_t j = 0; j < cols; ++j) {
        const T* src = b + (col0 + j) * ldb + p0;
        for (int64_t p = 0; p < kc; ++p) out[p * NR + j] = src[p];
      }
    } else {
      for (int64_t p = 0; p < kc; ++p) std::memcpy(out + p * NR, b + (p0 + p) * ldb + col0, size_t(cols) * sizeof(T));
    }
  }

 private:
  MatrixB with(const T* at) const {
    MatrixB m = *this;
    m.b = at;
    return m;
  }
};

template <typename T>
struct ColumnsB {
  ConvGeometry g;
  const T* x;
  int64_t stride;          // elements between batch items of x (the channel groups of one image)
  bool transposed;         // op(B) = columnsᵀ: depth runs over pixels, columns over (c, i, j)
  int64_t depth_base = 0;  // where this source's depth 0 lies in the full depth

  ColumnsB(const GemmShape& s, const ConvGeometry& g, const T* x)
      : g(g), x(x), stride(s.stride_b), transposed(s.trans_b) {}
  ColumnsB batch_item(int64_t i) const {
    ColumnsB c = *this;
    c.x = x + i * stride;
    return c;
  }
  ColumnsB depth_slice(int64_t p0) const {
    ColumnsB c = *this;
    c.depth_base += p0;
    return c;
  }
  // A gathered strip is built in L1 by the thread that uses it (rows of C permitting).
  bool per_strip(const GemmShape& s, int64_t) const { return s.m <= kMaxStripRows; }
  const T* in_place(int64_t, int64_t, int64_t&) const { return nullptr; }

  template <int NR>
  void pack(int64_t p0, int64_t kc, int64_t col0, int64_t cols, T* out) const {
    if (transposed) pack_transposed<NR>(depth_base + p0, kc, col0, cols, out);
    else pack_columns<NR>(depth_base + p0, kc, col0, cols, out);
  }

 private:
  // The pixels [first, first+count) as runs along output rows.
  struct Run {
    int64_t oy, ox, len, at;  // at: the run's first position among the pixels
  };
  template <int MaxRuns>
  int pixel_runs(int64_t first, int64_t count, Run* runs) const {
    int n = 0;
    for (int64_t at = 0; at < count && n < MaxRuns;) {
      int64_t q = first + at, oy = q / g.out_w, ox = q % g.out_w;
      int64_t len = std::min(count - at, g.out_w - ox);
      runs[n++] = {oy, ox, len, at};
      at += len;
    }
    return n;
  }

  // The input row that tap row i reads for a run's pixels, or null where it is padding.
  const T* tap_row(const Run& r, int64_t c, int64_t i) const {
    int64_t y = r.oy * g.stride_h - g.pad_h + i * g.dilation_h;
    return y < 0 || y >= g.height ? nullptr : x + (c * g.height + y) * g.width;
  }

  // Copies tap column j of one run of pixels from its input row (null: zeros): dst[k·step] for k < run.len.
  template <int NR>
  void copy_run(const Run& r, const T* row, int64_t j, T* dst, int64_t step) const {
    if (!row) {
      for (int64_t k = 0; k < r.len; ++k) dst[k * step] = T(0);
      return;
    }
    int64_t sw = g.stride_w, x0 = r.ox * sw - g.pad_w + j * g.dilation_w;  // input column of the run's first pixel
    if (sw == 1 && x0 >= 0 && x0 + r.len <= g.width) {  // inside the image: a plain copy, the common case
      const T* src = row + x0;
      if (step == 1 && r.len == NR) std::memcpy(dst, src, NR * sizeof(T));  // a fixed size: a few vector moves
      else
        for (int64_t k = 0; k < r.len; ++k) dst[k * step] = src[k];
      return;
    }
    // Pixels k whose input column x0 + k·sw lies inside [0, width).
    int64_t k_begin = x0 >= 0 ? 0 : (-x0 + sw - 1) / sw;
    int64_t k_end = x0 < g.width ? std::min(r.len, (g.width - x0 + sw - 1) / sw) : 0;
    k_begin = std::min(k_begin, k_end);
    for (int64_t k = 0; k < k_begin; ++k) dst[k * step] = T(0);
    for (int64_t k = k_begin; k < k_end; ++k) dst[k * step] = row[x0 + k * sw];
    for (int64_t k = k_end; k < r.len; ++k) dst[k * step] = T(0);
  }

  // Depth = column-matrix rows (c, i, j), columns = NR pixels. The taps j of
  // one (c, i) read the same input row: it is found once for all of them.
  template <int NR>
  void pack_columns(int64_t p0, int64_t kc, int64_t col0, int64_t cols, T* out) const {
    Run runs[NR];
    int n = pixel_runs<NR>(col0, cols, runs);
    int64_t taps = g.kernel_h * g.kernel_w;
    for (int64_t p = p0, end = p0 + kc; p < end;) {
      int64_t c = p / taps, i = (p % taps) / g.kernel_w, j_begin = p % g.kernel_w;
      int64_t j_end = std::min(g.kernel_w, j_begin + (end - p));  // this row's taps inside the panel
      for (int r = 0; r < n; ++r) {
        const T* row = tap_row(runs[r], c, i);
        for (int64_t j = j_begin; j < j_end; ++j)
          copy_run<NR>(runs[r], row, j, out + (j - j_begin) * NR + runs[r].at, 1);
      }
      if (cols < NR)
        for (int64_t j = j_begin; j < j_end; ++j)
          std::fill(out + (j - j_begin) * NR + cols, out + (j - j_begin + 1) * NR, T(0));
      out += (j_end - j_begin) * NR;
      p += j_end - j_begin;
    }
  }

  // Depth = pixels, columns = NR column-matrix rows (c, i, j), each read along its pixels.
  template <int NR>
  void pack_transposed(int64_t p0, int64_t kc, int64_t col0, int64_t cols, T* out) const {
    constexpr int kMaxRuns = 64;
    Run runs[kMaxRuns];
    int64_t taps = g.kernel_h * g.kernel_w;
    if (cols < NR) std::fill(out, out + NR * kc, T(0));
    for (int64_t done = 0; done < kc;) {  // a depth panel spans a few output rows: in groups of runs
      int n = pixel_runs<kMaxRuns>(p0 + done, kc - done, runs);
      for (int64_t jj = 0; jj < cols; ++jj) {
        int64_t row = col0 + jj, c = row / taps, i = (row % taps) / g.kernel_w, j = row % g.kernel_w;
        for (int r = 0; r < n; ++r)
          copy_run<NR>(runs[r], tap_row(runs[r], c, i), j, out + (done + runs[r].at) * NR + jj, NR);
      }
      done += runs[n - 1].at + runs[n - 1].len;
    }
  }
};

}  // namespace dmdlk::gemm_detail
