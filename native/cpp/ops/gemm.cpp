#include "ops/gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "core/cpu_features.h"
#include "core/thread_pool.h"
#include "ops/gemm_kernels.h"

namespace dmdlk {

namespace {

using gemm_detail::Avx2FloatKernel;
using gemm_detail::PortableKernel;

constexpr int64_t kKc = 256;   // depth of one packed panel (A and B strips stay in L1/L2)
constexpr int64_t kNc = 3072;  // columns of B packed at once (a few MB: shared L2/L3)
constexpr int64_t kTileRows = 72, kTileCols = 192;  // one unit of parallel work

struct AlignedFree {
  void operator()(void* p) const { std::free(p); }
};

template <typename T>
std::unique_ptr<T, AlignedFree> aligned_buffer(int64_t count) {
  size_t bytes = (static_cast<size_t>(count) * sizeof(T) + 63) / 64 * 64;
  return std::unique_ptr<T, AlignedFree>(static_cast<T*>(std::aligned_alloc(64, bytes ? bytes : 64)));
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
  if (beta != T(1)) scale_c(s, beta, c);
  if (s.k == 0 || alpha == T(0)) return;
  int64_t m_strips = (s.m + MR - 1) / MR;
  auto packed_a = aligned_buffer<T>(m_strips * MR * kKc);
  auto packed_b = aligned_buffer<T>((kNc + NR) * kKc);
  for (int64_t j0 = 0; j0 < s.n; j0 += kNc) {
    int64_t nc = std::min(kNc, s.n - j0);
    for (int64_t p0 = 0; p0 < s.k; p0 += kKc) {
      int64_t kc = std::min(kKc, s.k - p0);
      pack_a<T, MR>(s, a, p0, kc, packed_a.get());
      pack_b<T, NR>(s, b, p0, kc, j0, nc, packed_b.get());
      int64_t tile_rows = (s.m + kTileRows - 1) / kTileRows, tile_cols = (nc + kTileCols - 1) / kTileCols;
      parallel_for(0, tile_rows * tile_cols, 1, [&](int64_t lo, int64_t hi) {
        alignas(64) T acc[MR * NR];
        for (int64_t tile = lo; tile < hi; ++tile) {
          int64_t i_begin = (tile / tile_cols) * kTileRows, j_begin = (tile % tile_cols) * kTileCols;
          int64_t i_end = std::min(s.m, i_begin + kTileRows), j_end = std::min(nc, j_begin + kTileCols);
          for (int64_t jr = j_begin; jr < j_end; jr += NR) {
            const T* bp = packed_b.get() + (jr / NR) * NR * kc;
            int64_t ncols = std::min<int64_t>(NR, j_end - jr);
            for (int64_t ir = i_begin; ir < i_end; ir += MR) {
              Kernel::run(kc, packed_a.get() + (ir / MR) * MR * kc, bp, acc);
              int64_t nrows = std::min<int64_t>(MR, i_end - ir);
              for (int64_t i = 0; i < nrows; ++i) {
                T* crow = c + (ir + i) * s.ldc + j0 + jr;
                for (int64_t j = 0; j < ncols; ++j) crow[j] += alpha * acc[i * NR + j];
              }
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

}  // namespace

template <typename T>
void cpu_gemm(const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  for (int64_t i = 0; i < s.batch; ++i)
    gemm_dispatch(s, alpha, a + i * s.stride_a, b + i * s.stride_b, beta, c + i * s.stride_c);
}

template void cpu_gemm<float>(const GemmShape&, float, const float*, const float*, float, float*);
template void cpu_gemm<double>(const GemmShape&, double, const double*, const double*, double, double*);

}  // namespace dmdlk
