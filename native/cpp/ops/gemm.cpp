#include "ops/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/cpu_features.h"
#include "core/host_allocator.h"
#include "core/thread_pool.h"
#include "ops/backend.h"
#include "ops/bias.h"
#include "ops/gemm_b_sources.h"
#include "ops/gemm_kernels.h"

namespace dmdlk {

namespace {

using gemm_detail::Avx2FloatKernel;
using gemm_detail::ColumnsB;
using gemm_detail::kMaxStripRows;
using gemm_detail::MatrixB;
using gemm_detail::NeonFloatKernel;
using gemm_detail::PortableKernel;

constexpr int64_t kKc = 256;                        // depth of one packed panel (A and B strips stay in L1/L2)
constexpr int64_t kNc = 3072;                       // columns of B packed at once (a few MB: shared L2/L3)
constexpr int64_t kTileRows = 72, kTileCols = 192;  // one unit of parallel work

// Packing buffers from the host allocator's cache: a GEMM in a training step
// reuses the blocks of the step before instead of asking the system.
struct AlignedFree {
  size_t bytes;
  void operator()(void* p) const { host_free(p, bytes); }
};

template <typename T>
std::unique_ptr<T, AlignedFree> aligned_buffer(int64_t count) {
  size_t bytes = static_cast<size_t>(count) * sizeof(T);
  return std::unique_ptr<T, AlignedFree>(static_cast<T*>(host_alloc(bytes)), AlignedFree{bytes});
}

// Packs MR-row strips [strip_lo, strip_hi) of op(A) × depth [p0, p0+kc), zero-padded.
template <typename T, int MR>
void pack_a(const GemmShape& s, const T* a, int64_t p0, int64_t kc, int64_t strip_lo, int64_t strip_hi, T* out) {
  for (int64_t strip = strip_lo; strip < strip_hi; ++strip) {
    T* dst = out + strip * MR * kc;
    int64_t rows = std::min<int64_t>(MR, s.m - strip * MR);
    if (rows < MR) std::fill(dst, dst + MR * kc, T(0));
    if (s.trans_a) {  // a strip's rows are contiguous in each depth row of a transposed A
      for (int64_t p = 0; p < kc; ++p) {
        const T* src = a + (p0 + p) * s.lda + strip * MR;
        for (int64_t i = 0; i < rows; ++i) dst[p * MR + i] = src[i];
      }
      continue;
    }
    for (int64_t i = 0; i < rows; ++i) {
      const T* src = a + (strip * MR + i) * s.lda + p0;  // contiguous along the depth
      for (int64_t p = 0; p < kc; ++p) dst[p * MR + i] = src[p];
    }
  }
}

template <typename T>
void scale_c(const GemmShape& s, T beta, T* c) {
  parallel_for(0, s.m, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, s.n)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T* row = c + i * s.ldc;
      if (beta == T(0)) std::fill(row, row + s.n, T(0));
      else
        for (int64_t j = 0; j < s.n; ++j) row[j] *= beta;
    }
  });
}

// C[rows, strip] (+)= A[rows, panel] · B[panel, strip] for rows [i_begin,
// i_end) and one strip of ncols ≤ NR columns; c points at the strip's column
// of C's row 0. Tiles narrower than NR go through a buffer, added into C with
// bounds; tiles with fewer than MR rows run the kernel for that many rows.
// With row_bias (the last depth panel), the epilogue adds row_bias[row] to
// the strip while it is still in L1.
template <typename T, typename Kernel>
void multiply_strip(int64_t i_begin, int64_t i_end, int64_t kc, const T* packed_a, const T* bp, int64_t b_step,
                    int64_t ncols, T* c, int64_t ldc, T alpha, bool overwrite, const T* row_bias) {
  constexpr int MR = Kernel::MR, NR = Kernel::NR;
  alignas(64) T edge[MR * NR];
  for (int64_t ir = i_begin; ir < i_end; ir += MR) {
    const T* ap = packed_a + (ir / MR) * MR * kc;
    int nrows = int(std::min<int64_t>(MR, i_end - ir));
    T* ctile = c + ir * ldc;
    if (ncols == NR) {
      Kernel::run(nrows, kc, ap, bp, b_step, ctile, ldc, alpha, overwrite);
      continue;
    }
    Kernel::run(nrows, kc, ap, bp, b_step, edge, NR, alpha, true);
    for (int64_t i = 0; i < nrows; ++i)
      for (int64_t j = 0; j < ncols; ++j)
        ctile[i * ldc + j] = edge[i * NR + j] + (overwrite ? T(0) : ctile[i * ldc + j]);
  }
  if (row_bias)
    for (int64_t i = i_begin; i < i_end; ++i)
      for (int64_t j = 0; j < ncols; ++j) c[i * ldc + j] += row_bias[i];
}

// Whole panels: for each depth panel, A and kNc columns of B are packed by
// all threads, then tiles of C are shared out. For large products, whose
// packed strips of B each serve many micro-tiles.
template <typename T, typename Kernel, typename Source>
void gemm_panels(const GemmShape& s, T alpha, const T* a, const Source& b, bool overwrite_first, T* c,
                 const T* row_bias) {
  constexpr int MR = Kernel::MR, NR = Kernel::NR;
  int64_t m_strips = (s.m + MR - 1) / MR;
  auto packed_a = aligned_buffer<T>(m_strips * MR * kKc);
  auto packed_b = aligned_buffer<T>((kNc + NR) * kKc);
  for (int64_t j0 = 0; j0 < s.n; j0 += kNc) {
    int64_t nc = std::min(kNc, s.n - j0), nc_strips = (nc + NR - 1) / NR;
    for (int64_t p0 = 0; p0 < s.k; p0 += kKc) {
      int64_t kc = std::min(kKc, s.k - p0);
      parallel_for(0, m_strips, 4,
                   [&](int64_t lo, int64_t hi) { pack_a<T, MR>(s, a, p0, kc, lo, hi, packed_a.get()); });
      parallel_for(0, nc_strips, 4, [&](int64_t lo, int64_t hi) {
        for (int64_t strip = lo; strip < hi; ++strip)
          b.template pack<NR>(p0, kc, j0 + strip * NR, std::min<int64_t>(NR, nc - strip * NR),
                              packed_b.get() + strip * NR * kc);
      });
      int64_t row_tiles = (s.m + kTileRows - 1) / kTileRows, col_tiles = (nc + kTileCols - 1) / kTileCols;
      parallel_for(0, row_tiles * col_tiles, 1, [&](int64_t lo, int64_t hi) {
        for (int64_t tile = lo; tile < hi; ++tile) {
          int64_t i_begin = (tile / col_tiles) * kTileRows, j_begin = (tile % col_tiles) * kTileCols;
          int64_t i_end = std::min(s.m, i_begin + kTileRows), j_end = std::min(nc, j_begin + kTileCols);
          for (int64_t jr = j_begin; jr < j_end; jr += NR)
            multiply_strip<T, Kernel>(i_begin, i_end, kc, packed_a.get(), packed_b.get() + (jr / NR) * NR * kc, NR,
                                      std::min<int64_t>(NR, j_end - jr), c + j0 + jr, s.ldc, alpha,
                                      overwrite_first && p0 == 0, p0 + kc == s.k ? row_bias : nullptr);
        }
      });
    }
  }
}

// Strip by strip: A is packed whole once, then each thread takes tiles of
// columns through the whole depth, packing (or reading in place) each strip
// of B just before it uses it, while it is in L1. One parallel section per
// product, and each strip of B is packed once: for products with few rows
// (the convolutions), whose strips of B serve only a few micro-tiles.
template <typename T, typename Kernel, typename Source>
void gemm_strips(const GemmShape& s, T alpha, const T* a, const Source& b, bool overwrite_first, T* c,
                 const T* row_bias) {
  constexpr int MR = Kernel::MR, NR = Kernel::NR;
  int64_t m_strips = (s.m + MR - 1) / MR, panels = (s.k + kKc - 1) / kKc, n_strips = (s.n + NR - 1) / NR;
  auto packed_a = aligned_buffer<T>(m_strips * MR * s.k);  // panel p0 at m_strips·MR·p0
  parallel_for(0, panels * m_strips, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t job = lo; job < hi; ++job) {
      int64_t p0 = (job / m_strips) * kKc, strip = job % m_strips;
      pack_a<T, MR>(s, a, p0, std::min(kKc, s.k - p0), strip, strip + 1, packed_a.get() + m_strips * MR * p0);
    }
  });
  // Tiles span every row of C where columns alone give each thread enough
  // tiles: each strip of B is then packed once.
  int64_t threads = ThreadPool::global().threads();
  int64_t tile_rows = s.m <= kMaxStripRows || n_strips >= 8 * threads ? s.m : kTileRows;
  // B costs the same however narrow the tiles: about 8 per thread, so that
  // the last ones to finish leave the others little to wait for.
  int64_t per_tile = (n_strips + 8 * threads - 1) / (8 * threads);
  int64_t tile_cols = NR * std::clamp<int64_t>(per_tile, 1, kTileCols / NR);
  int64_t row_tiles = (s.m + tile_rows - 1) / tile_rows, col_tiles = (s.n + tile_cols - 1) / tile_cols;
  parallel_for(0, row_tiles * col_tiles, 1, [&](int64_t lo, int64_t hi) {
    auto strip_b = aligned_buffer<T>(NR * kKc);
    for (int64_t tile = lo; tile < hi; ++tile) {
      int64_t i_begin = (tile / col_tiles) * tile_rows, j_begin = (tile % col_tiles) * tile_cols;
      int64_t i_end = std::min(s.m, i_begin + tile_rows), j_end = std::min(s.n, j_begin + tile_cols);
      for (int64_t p0 = 0; p0 < s.k; p0 += kKc) {
        int64_t kc = std::min(kKc, s.k - p0);
        for (int64_t jr = j_begin; jr < j_end; jr += NR) {
          int64_t ncols = std::min<int64_t>(NR, j_end - jr), b_step = NR;
          const T* bp = ncols == NR ? b.in_place(p0, jr, b_step) : nullptr;
          if (!bp) {
            b.template pack<NR>(p0, kc, jr, ncols, strip_b.get());
            bp = strip_b.get(), b_step = NR;
          }
          multiply_strip<T, Kernel>(i_begin, i_end, kc, packed_a.get() + m_strips * MR * p0, bp, b_step, ncols, c + jr,
                                    s.ldc, alpha, overwrite_first && p0 == 0, p0 + kc == s.k ? row_bias : nullptr);
        }
      }
    }
  });
}

// C[i, :] += row_bias[i] after the product, where row_bias is given.
template <typename T>
void add_row_bias(const GemmShape& s, const T* row_bias, T* c) {
  if (row_bias)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) c[i * s.ldc + j] += row_bias[i];
}

template <typename T, typename Kernel, typename Source>
void gemm_one(const GemmShape& s, T alpha, const T* a, const Source& b, T beta, T* c, const T* row_bias) {
  // beta = 0 with work to do: the first depth panel overwrites C instead.
  const bool overwrite_first = beta == T(0) && s.k > 0 && alpha != T(0);
  if (beta != T(1) && !overwrite_first) scale_c(s, beta, c);
  if (s.k == 0 || alpha == T(0)) return add_row_bias(s, row_bias, c);
  if (b.per_strip(s, (s.m + Kernel::MR - 1) / Kernel::MR))
    gemm_strips<T, Kernel>(s, alpha, a, b, overwrite_first, c, row_bias);
  else gemm_panels<T, Kernel>(s, alpha, a, b, overwrite_first, c, row_bias);
}

template <typename T, typename Source>
void gemm_dispatch(const GemmShape& s, T alpha, const T* a, const Source& b, T beta, T* c, const T* row_bias) {
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_features().avx2 && cpu_features().fma)
      return gemm_one<float, Avx2FloatKernel>(s, alpha, a, b, beta, c, row_bias);
    if (cpu_features().neon) return gemm_one<float, NeonFloatKernel>(s, alpha, a, b, beta, c, row_bias);
  }
  gemm_one<T, PortableKernel<T, 4, 8>>(s, alpha, a, b, beta, c, row_bias);
}

// A product with a small C and a long depth (every convolution's weight
// gradient: K = batch · pixels) has too little work per depth panel to share
// out. Its depth is split instead: each thread multiplies one slice into a
// private C, and the slices are summed in a fixed order (deterministic).
template <typename T, typename Source>
bool split_depth(const GemmShape& s, T alpha, const T* a, const Source& b, T beta, T* c, const T* row_bias) {
  int64_t threads = ThreadPool::global().threads();
  if (threads < 2 || s.m * s.n > 65536 || s.k < 2048 || s.k < 8 * (s.m + s.n)) return false;
  int64_t slices = threads, slice_k = (s.k + slices - 1) / slices;
  std::vector<std::unique_ptr<T, AlignedFree>> partial;  // from the host cache, like the packing buffers
  for (int64_t i = 0; i < slices; ++i) partial.push_back(aligned_buffer<T>(s.m * s.n));
  parallel_for(0, slices, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      GemmShape part = s;
      int64_t k0 = i * slice_k;
      part.k = std::max<int64_t>(0, std::min(s.k, k0 + slice_k) - k0);
      part.ldc = s.n;
      const T* ap = s.trans_a ? a + k0 * s.lda : a + k0;
      gemm_dispatch(part, alpha, ap, b.depth_slice(k0), T(0), partial[size_t(i)].get(), static_cast<const T*>(nullptr));
    }
  });
  parallel_for(0, s.m, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r)
      for (int64_t j = 0; j < s.n; ++j) {
        T sum = 0;
        for (const auto& p : partial) sum += p.get()[r * s.n + j];
        T& out = c[r * s.ldc + j];
        out = sum + (beta == T(0) ? T(0) : beta * out) + (row_bias ? row_bias[r] : T(0));
      }
  });
  return true;
}

template <typename T, typename Source>
void gemm_batch(const GemmShape& s, T alpha, const T* a, const Source& b, T beta, T* c, const T* row_bias) {
  for (int64_t i = 0; i < s.batch; ++i) {
    const T* ai = a + i * s.stride_a;
    Source bi = b.batch_item(i);
    T* ci = c + i * s.stride_c;
    const T* bias_i = row_bias ? row_bias + i * s.m : nullptr;
    if (!split_depth(s, alpha, ai, bi, beta, ci, bias_i)) gemm_dispatch(s, alpha, ai, bi, beta, ci, bias_i);
  }
}

}  // namespace

namespace cpu_ops {

template <typename T>
void gemm(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c, const T* row_bias) {
  gemm_batch(s, alpha, a, MatrixB<T>(s, b), beta, c, row_bias);
}

template <typename T>
void gemm_columns(const GemmShape& s, T alpha, const T* a, const ConvGeometry& g, const T* x, T beta, T* c,
                  const T* row_bias) {
  gemm_batch(s, alpha, a, ColumnsB<T>(s, g, x), beta, c, row_bias);
}

template <typename T>
void gemm_bias_columns(const GemmShape& s, const T* a, const T* b, const T* col_bias, T* c) {
  DMDLK_CHECK(s.ldc == s.n && (s.batch == 1 || s.stride_c == s.m * s.n), ErrorCode::Internal,
              "gemm_bias_columns: C must be dense");
  gemm(s, T(1), a, b, T(0), c);
  add_bias(ChannelLayout{s.batch * s.m, s.n, 1}, col_bias, c);
}

#define INSTANTIATE(T)                                                                    \
  template void gemm<T>(const GemmShape&, T, const T*, const T*, T, T*, const T*);        \
  template void gemm_bias_columns<T>(const GemmShape&, const T*, const T*, const T*, T*); \
  template void gemm_columns<T>(const GemmShape&, T, const T*, const ConvGeometry&, const T*, T, T*, const T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace cpu_ops

}  // namespace dmdlk
