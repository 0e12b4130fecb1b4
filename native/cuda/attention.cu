// Window attention on CUDA as gpu/attention.h describes it: batched tiled
// GEMMs over every (window, head) — item b is window b / heads, head
// b % heads, whose rows of Q, K, V and O are the head's d channels of the
// window's tokens — with the bias and the softmax's pieces in the epilogues.
#include <cmath>
#include <type_traits>

#include "cuda/arrivals.cuh"
#include "cuda/tiled_gemm.cuh"
#include "gpu/attention.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

// The head slice of a [W, N, C] tensor as a batch of N×d matrices (or d×N,
// transposed), item b = window · heads + head.
BatchOffset heads_of(const AttentionShape& s) { return {s.heads, s.tokens * s.channels, s.head_dim()}; }
BatchOffset scores_of(const AttentionShape& s) { return BatchOffset::strided(s.tokens * s.tokens); }

template <typename T>
struct TokenMatrix {  // Q, K, V, dO, O of one head
  static DenseA<T> a(const T* x, const AttentionShape& s) { return {{x, s.channels, false, heads_of(s)}}; }
  static DenseB<T> b(const T* x, const AttentionShape& s, bool trans) { return {{x, s.channels, trans, heads_of(s)}}; }
};

// Softmax of each score row in place, and its log-sum-exp: a warp per row.
template <typename T>
__global__ void softmax_rows_kernel(int64_t rows, int64_t length, T* scores, T* lse) {
  for_warp_rows(rows, [&](int64_t row, int lane) {
    T* x = scores + row * length;
    T m = -INFINITY;
    for (int64_t i = lane; i < length; i += 32) m = x[i] > m ? x[i] : m;
    for (int offset = 16; offset > 0; offset /= 2) {
      T other = __shfl_xor_sync(0xffffffffu, m, offset);
      m = other > m ? other : m;
    }
    T sum = 0;
    for (int64_t i = lane; i < length; i += 32) sum += exp(x[i] - m);
    for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    T inv = T(1) / sum;
    for (int64_t i = lane; i < length; i += 32) x[i] = exp(x[i] - m) * inv;
    if (lane == 0) lse[row] = m + log(sum);
  });
}

// δ[row] = Σ over the head's channels of dO ⊙ O: a warp per (window, head, query) row
// (rows in 32 bits: checked in products()).
template <typename T>
__global__ void delta_kernel(AttentionShape s, const T* dout, const T* out, T* delta) {
  for_warp_rows(s.windows * s.heads * s.tokens, [&](int64_t row, int lane) {
    const uint32_t tokens = uint32_t(s.tokens), heads = uint32_t(s.heads), item = uint32_t(row) / tokens;
    const int64_t q = uint32_t(row) % tokens, w = item / heads, head = item % heads;
    int64_t offset = (w * s.tokens + q) * s.channels + head * s.head_dim();
    T sum = 0;
    for (int64_t e = lane; e < s.head_dim(); e += 32) sum += dout[offset + e] * out[offset + e];
    for (int o = 16; o > 0; o /= 2) sum += __shfl_xor_sync(0xffffffffu, sum, o);
    if (lane == 0) delta[row] = sum;
  });
}

// The bias gradient in one launch: block (x, y) takes table entries
// [y·blockDim, …) (head, offset) of piece x = (window, band of query rows),
// each thread summing the dS of the band's queries whose key at its offset
// lies in the window; the last piece of a row of blocks to arrive adds the
// row's pieces, in piece order, into drel.
template <typename T>
__global__ void bias_grad_kernel(AttentionShape s, int64_t bands, const T* score_grads, T* pieces, unsigned* arrivals,
                                 T* drel) {
  const int64_t entries = s.heads * s.table(), piece = blockIdx.x, count = gridDim.x;
  const int64_t e = blockIdx.y * int64_t(blockDim.x) + threadIdx.x;
  const int64_t cols = 2 * s.window_w - 1, rows_per_band = uint32_t(s.window_h + bands - 1) / uint32_t(bands);
  if (e < entries) {  // 32-bit divisions: pieces and entries are grid extents
    const uint32_t table = uint32_t(s.table());
    const int64_t w = uint32_t(piece) / uint32_t(bands), band = uint32_t(piece) % uint32_t(bands);
    const int64_t head = uint32_t(e) / table, t = uint32_t(e) % table;
    const int64_t dy = int64_t(uint32_t(t) / uint32_t(cols)) - (s.window_h - 1),
                  dx = int64_t(uint32_t(t) % uint32_t(cols)) - (s.window_w - 1);
    const T* ds = score_grads + (w * s.heads + head) * s.tokens * s.tokens;
    int64_t first = band * rows_per_band,
            last = first + rows_per_band < s.window_h ? first + rows_per_band : s.window_h;
    T sum = 0;
    for (int64_t i = first > -dy ? first : -dy; i < last && i + dy < s.window_h; ++i)
      for (int64_t j = dx < 0 ? -dx : 0; j < s.window_w && j + dx < s.window_w; ++j)
        sum += ds[(i * s.window_w + j) * s.tokens + (i + dy) * s.window_w + (j + dx)];
    pieces[piece * entries + e] = sum;
  }
  if (!last_to_arrive(&arrivals[blockIdx.y], count) || e >= entries) return;
  T total = 0;
  for (int64_t p = 0; p < count; ++p) total += load_arrived(&pieces[p * entries + e]);
  drel[e] = total;
}

template <typename T>
AttentionProducts products(int device, const AttentionShape& s) {
  // The rows of the score matrices (window, head, query), as the row kernels decompose them.
  check_fits_32_bits(s.windows * s.heads * s.tokens, "attention: rows of scores:");
  return attention_products(s, sizeof(T), matmul_precision(),
                            std::is_same_v<T, float> && tiled::has_tensor_cores(device));
}

}  // namespace

template <typename T>
void attention_forward(int device, const AttentionShape& s, const T* q, const T* k, const T* v, const T* rel_pos,
                       T* out, T* logsumexp) {
  AttentionProducts p = products<T>(device, s);
  std::vector<LaunchPlan> plans = plan_attention_forward(s, sizeof(T), p);
  Tensor scores = Tensor::empty({s.windows * s.heads, s.tokens, s.tokens}, dtype_of<T>::value, Device::cuda(device));
  T* sp = scores.data<T>();
  double score_bytes = attention_score_bytes(s, sizeof(T)), tokens = attention_token_bytes(s, sizeof(T));
  tiled_product<T, kAttentionScoreTiles>(device, "attention_scores", p.scores, p.scores_tiles, 2 * tokens + score_bytes,
                                         TokenMatrix<T>::a(q, s), TokenMatrix<T>::b(k, s, true),
                                         ScoreStore<T>{ScoreStore<T>::Writes::Scores, sp, rel_pos, nullptr, s});
  int64_t rows = s.windows * s.heads * s.tokens;
  launch(device, plans[1], softmax_rows_kernel<T>, rows, s.tokens, sp, logsumexp);
  dense_product<T>(device, "attention_values", p.values, p.values_tiles, 2 * tokens + score_bytes,
                   DenseA<T>{{sp, s.tokens, false, scores_of(s)}}, TokenMatrix<T>::b(v, s, false),
                   DenseStore<T>{out, s.channels, heads_of(s)});
}

template <typename T>
void attention_backward(int device, const AttentionShape& s, const T* dout, const T* q, const T* k, const T* v,
                        const T* rel_pos, const T* out, const T* logsumexp, T* dq, T* dk, T* dv, T* drel_pos) {
  AttentionProducts p = products<T>(device, s);
  std::vector<LaunchPlan> plans = plan_attention_backward(s, sizeof(T), p);
  int64_t rows = s.windows * s.heads * s.tokens;
  double score_bytes = attention_score_bytes(s, sizeof(T)), tokens = attention_token_bytes(s, sizeof(T));
  Tensor delta = Tensor::empty({rows}, dtype_of<T>::value, Device::cuda(device));
  Tensor scores = Tensor::empty({s.windows * s.heads, s.tokens, s.tokens}, dtype_of<T>::value, Device::cuda(device));
  T* sp = scores.data<T>();
  launch(device, plans[0], delta_kernel<T>, s, dout, out, delta.data<T>());
  tiled_product<T, kAttentionScoreTiles>(
      device, "attention_probabilities", p.scores, p.scores_tiles, 2 * tokens + score_bytes, TokenMatrix<T>::a(q, s),
      TokenMatrix<T>::b(k, s, true), ScoreStore<T>{ScoreStore<T>::Writes::Probabilities, sp, rel_pos, logsumexp, s});
  // dV = Pᵀ·dO, before dS overwrites P.
  dense_product<T>(device, "attention_value_grad", p.keys_grad, p.keys_grad_tiles, 2 * tokens + score_bytes,
                   DenseA<T>{{sp, s.tokens, true, scores_of(s)}}, TokenMatrix<T>::b(dout, s, false),
                   DenseStore<T>{dv, s.channels, heads_of(s)});
  tiled_product<T, kAttentionScoreTiles>(
      device, "attention_score_grad", p.scores, p.scores_tiles, 2 * tokens + 2 * score_bytes,
      TokenMatrix<T>::a(dout, s), TokenMatrix<T>::b(v, s, true),
      ScoreStore<T>{ScoreStore<T>::Writes::Gradients, sp, nullptr, delta.data<T>(), s});
  dense_product<T>(device, "attention_query_grad", p.values, p.values_tiles, 2 * tokens + score_bytes,
                   DenseA<T>{{sp, s.tokens, false, scores_of(s)}}, TokenMatrix<T>::b(k, s, false),
                   DenseStore<T>{dq, s.channels, heads_of(s), T(s.scale)});
  dense_product<T>(device, "attention_key_grad", p.keys_grad, p.keys_grad_tiles, 2 * tokens + score_bytes,
                   DenseA<T>{{sp, s.tokens, true, scores_of(s)}}, TokenMatrix<T>::b(q, s, false),
                   DenseStore<T>{dk, s.channels, heads_of(s), T(s.scale)});
  int64_t bands = attention_bias_bands(s);
  Tensor pieces = Tensor::empty({s.windows * bands * s.heads * s.table()}, dtype_of<T>::value, Device::cuda(device));
  const LaunchPlan& bias = plans.back();
  unsigned* arrivals = cuda::arrival_counters(device, size_t(bias.grid.y));
  launch(device, bias, bias_grad_kernel<T>, s, bands, static_cast<const T*>(sp), pieces.data<T>(), arrivals, drel_pos);
}

#define INSTANTIATE(T)                                                                                              \
  template void attention_forward<T>(int, const AttentionShape&, const T*, const T*, const T*, const T*, T*, T*);   \
  template void attention_backward<T>(int, const AttentionShape&, const T*, const T*, const T*, const T*, const T*, \
                                      const T*, const T*, T*, T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
