#include "ops/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>
#include <vector>

#include "core/cpu_features.h"
#include "core/host_allocator.h"
#include "core/thread_pool.h"
#include "ops/gemm_kernels.h"

namespace dmdlk {

namespace {

using gemm_detail::Avx2FloatKernel;
using gemm_detail::PortableKernel;

constexpr int64_t kKc = 256;   // depth of one packed panel (A and B strips stay in L1/L2)
constexpr int64_t kNc = 3072;  // columns of B packed at once (a few MB: shared L2/L3)
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

// Packs rows [0, m) × depth [p0, p0+kc) of op(A) into MR-row strips, zero-padded.
template <typename T, int MR>
void pack_a(const GemmShape& s, const T* a, int64_t p0, int64_t kc, T* out) {
  int64_t strips = (s.m + MR - 1) / MR;
  parallel_for(0, strips, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t strip = lo; strip < hi; ++strip) {
      T* dst = out + strip * MR * kc;
      int64_t rows = std::min<int64_t>(MR, s.m - strip * MR);
      if (rows < MR) std::fill(dst, dst + MR * kc, T(0));
      for (int64_t i = 0; i < rows; ++i) {
        int64_t row = strip * MR + i;
        if (s.trans_a) {
          for (int64_t p = 0; p < kc; ++p) dst[p * MR + i] = a[(p0 + p) * s.lda + row];
        } else {
          const T* src = a + row * s.lda + p0;  // contiguous along the depth
          for (int64_t p = 0; p < kc; ++p) dst[p * MR + i] = src[p];
        }
      }
    }
  });
}

// Packs depth [p0, p0+kc) × columns [j0, j0+nc) of op(B) into NR-column
// strips, zero-padded. It is the price of every GEMM with few rows (the 1×1
// and offset convolutions), so both layouts read memory contiguously: rows of
// B are copied a strip-width at a time, and a transposed B is read along its
// rows (the depth) and written with a stride of NR.
template <typename T, int NR>
void pack_b(const GemmShape& s, const T* b, int64_t p0, int64_t kc, int64_t j0, int64_t nc, T* out) {
  int64_t strips = (nc + NR - 1) / NR;
  parallel_for(0, strips, 4, [&](int64_t lo, int64_t hi) {
    for (int64_t strip = lo; strip < hi; ++strip) {
      T* dst = out + strip * NR * kc;
      int64_t col0 = j0 + strip * NR, cols = std::min<int64_t>(NR, j0 + nc - col0);
      if (cols < NR) std::fill(dst, dst + NR * kc, T(0));
      if (s.trans_b) {
        for (int64_t j = 0; j < cols; ++j) {
          const T* src = b + (col0 + j) * s.ldb + p0;
          for (int64_t p = 0; p < kc; ++p) dst[p * NR + j] = src[p];
        }
      } else {
        for (int64_t p = 0; p < kc; ++p) std::memcpy(dst + p * NR, b + (p0 + p) * s.ldb + col0, size_t(cols) * sizeof(T));
      }
    }
  });
}

template <typename T>
void scale_c(const GemmShape& s, T beta, T* c) {
  parallel_for(0, s.m, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, s.n)), [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T* row = c + i * s.ldc;
      if (beta == T(0)) std::fill(row, row + s.n, T(0));
      else for (int64_t j = 0; j < s.n; ++j) row[j] *= beta;
    }
  });
}

template <typename T, typename Kernel>
void gemm_one(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  constexpr int MR = Kernel::MR, NR = Kernel::NR;
  // beta = 0 with work to do: the first depth panel overwrites C instead.
  const bool overwrite_first = beta == T(0) && s.k > 0 && alpha != T(0);
  if (beta != T(1) && !overwrite_first) scale_c(s, beta, c);
  if (s.k == 0 || alpha == T(0)) return;
  int64_t m_strips = (s.m + MR - 1) / MR;
  // With few rows each strip of B serves only a few micro-tiles, and with a
  // shallow depth a strip stays in L1 for all of them; either way packing it
  // would cost as much as the math (the 1×1 and offset convolutions), so full
  // strips of an untransposed B are then read in place, row pitch apart.
  const bool b_in_place = !s.trans_b && (m_strips <= 16 || s.k <= 128);
  auto packed_a = aligned_buffer<T>(m_strips * MR * kKc);
  auto packed_b = aligned_buffer<T>(b_in_place ? 0 : (kNc + NR) * kKc);
  for (int64_t j0 = 0; j0 < s.n; j0 += kNc) {
    int64_t nc = std::min(kNc, s.n - j0);
    for (int64_t p0 = 0; p0 < s.k; p0 += kKc) {
      int64_t kc = std::min(kKc, s.k - p0);
      pack_a<T, MR>(s, a, p0, kc, packed_a.get());
      if (!b_in_place) pack_b<T, NR>(s, b, p0, kc, j0, nc, packed_b.get());
      int64_t tile_rows = (s.m + kTileRows - 1) / kTileRows, tile_cols = (nc + kTileCols - 1) / kTileCols;
      parallel_for(0, tile_rows * tile_cols, 1, [&](int64_t lo, int64_t hi) {
        alignas(64) T edge[MR * NR];  // an edge tile's result, added into C with bounds
        std::unique_ptr<T, AlignedFree> edge_b;  // a partial strip of B, packed, when B is read in place
        for (int64_t tile = lo; tile < hi; ++tile) {
          int64_t i_begin = (tile / tile_cols) * kTileRows, j_begin = (tile % tile_cols) * kTileCols;
          int64_t i_end = std::min(s.m, i_begin + kTileRows), j_end = std::min(nc, j_begin + kTileCols);
          for (int64_t jr = j_begin; jr < j_end; jr += NR) {
            int64_t ncols = std::min<int64_t>(NR, j_end - jr);
            const T* bp = packed_b.get() + (jr / NR) * NR * kc;
            int64_t b_step = NR;
            if (b_in_place && ncols == NR) {
              bp = b + p0 * s.ldb + j0 + jr, b_step = s.ldb;
            } else if (b_in_place) {
              if (!edge_b) edge_b = aligned_buffer<T>(NR * kKc);
              pack_b<T, NR>(s, b, p0, kc, j0 + jr, ncols, edge_b.get());
              bp = edge_b.get();
            }
            for (int64_t ir = i_begin; ir < i_end; ir += MR) {
              const T* ap = packed_a.get() + (ir / MR) * MR * kc;
              int64_t nrows = std::min<int64_t>(MR, i_end - ir);
              T* ctile = c + ir * s.ldc + j0 + jr;
              bool overwrite = overwrite_first && p0 == 0;
              if (nrows == MR && ncols == NR) {
                Kernel::run(kc, ap, bp, b_step, ctile, s.ldc, alpha, overwrite);
                continue;
              }
              Kernel::run(kc, ap, bp, b_step, edge, NR, alpha, true);
              for (int64_t i = 0; i < nrows; ++i)
                for (int64_t j = 0; j < ncols; ++j)
                  ctile[i * s.ldc + j] = edge[i * NR + j] + (overwrite ? T(0) : ctile[i * s.ldc + j]);
            }
          }
        }
      });
    }
  }
}

template <typename T>
void gemm_dispatch(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  if constexpr (std::is_same_v<T, float>) {
    if (cpu_features().avx2 && cpu_features().fma) return gemm_one<float, Avx2FloatKernel>(s, alpha, a, b, beta, c);
  }
  gemm_one<T, PortableKernel<T, 4, 8>>(s, alpha, a, b, beta, c);
}

// A product with a small C and a long depth (every convolution's weight
// gradient: K = batch · pixels) has too little work per depth panel to share
// out. Its depth is split instead: each thread multiplies one slice into a
// private C, and the slices are summed in a fixed order (deterministic).
template <typename T>
bool split_depth(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
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
      const T* bp = s.trans_b ? b + k0 : b + k0 * s.ldb;
      gemm_dispatch(part, alpha, ap, bp, T(0), partial[size_t(i)].get());
    }
  });
  parallel_for(0, s.m, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r)
      for (int64_t j = 0; j < s.n; ++j) {
        T sum = 0;
        for (const auto& p : partial) sum += p.get()[r * s.n + j];
        T& out = c[r * s.ldc + j];
        out = sum + (beta == T(0) ? T(0) : beta * out);
      }
  });
  return true;
}

}  // namespace

template <typename T>
void cpu_gemm(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  for (int64_t i = 0; i < s.batch; ++i) {
    const T *ai = a + i * s.stride_a, *bi = b + i * s.stride_b;
    T* ci = c + i * s.stride_c;
    if (!split_depth(s, alpha, ai, bi, beta, ci)) gemm_dispatch(s, alpha, ai, bi, beta, ci);
  }
}

template void cpu_gemm<float>(const GemmShape&, float, const float*, const float*, float, float*);
template void cpu_gemm<double>(const GemmShape&, double, const double*, const double*, double, double*);

}  // namespace dmdlk
