// CUDA's window attention (attention.cu) and its launch plans: the products
// of every (window, head) as batched tiled GEMMs (tiled_gemm.cuh, on the
// tensor cores at precision high or medium), the relative-position bias and
// the softmax's pieces in their epilogues, and row kernels between them. The
// score matrix of every (window, head) lives in one workspace for the pass
// (W·heads·N² values: 39 MB for global attention at 28×28, batch 4).
//   forward:  S = scale·Q·Kᵀ + bias; P = softmax(S) in place, its log-sum-exp kept; O = P·V
//   backward: δ = rowsum(dO ⊙ O); P = exp(scale·Q·Kᵀ + bias − lse); dV = Pᵀ·dO;
//             dS = P ⊙ (dO·Vᵀ − δ) (over P); dQ = scale·dS·K; dK = scale·dSᵀ·Q;
//             dbias: per (window, head, offset) sums of dS, then over the windows
#pragma once
#include <cmath>
#include <cstdint>
#include <vector>

#include "gpu/gemm.h"
#include "gpu/launch_plan.h"
#include "ops/attention.h"

namespace dmdlk::cuda_ops {

template <typename T>
void attention_forward(int device, const AttentionShape& s, const T* q, const T* k, const T* v, const T* rel_pos,
                       T* out, T* logsumexp);
// drel_pos is written whole.
template <typename T>
void attention_backward(int device, const AttentionShape& s, const T* dout, const T* q, const T* k, const T* v,
                        const T* rel_pos, const T* out, const T* logsumexp, T* dq, T* dk, T* dv, T* drel_pos);

constexpr int64_t kAttentionThreads = 256;  // row kernels: a warp per row

// What the score products write, element (q, key) of item b, from acc = (Q·Kᵀ)[q][key]
// or (dO·Vᵀ)[q][key]; one epilogue type for the three, so that their kernels are built once:
//   Scores:        S = scale · acc + bias[head][offset of key from query]
//   Probabilities: P = exp(S − lse[row])                      (row_values = lse)
//   Gradients:     dS = P ⊙ (acc − δ[row]), written over P    (row_values = δ; each element
//                  read, then written, by one thread)
// Host and device: test_gemm_operands makes the CPU's attention with it.
template <typename T>
struct ScoreStore {
  enum class Writes { Scores, Probabilities, Gradients };
  Writes writes;
  T* scores;
  const T* rel_pos;     // null for Gradients
  const T* row_values;  // null for Scores
  AttentionShape s;
  DMDLK_HD void operator()(int64_t b, int64_t, int64_t q, int64_t key, T acc) const {
    int64_t row = b * s.tokens + q;
    T* at = scores + row * s.tokens + key;
    if (writes == Writes::Gradients) {
      *at = *at * (acc - row_values[row]);
      return;
    }
    const int64_t head = uint32_t(b) % uint32_t(s.heads);  // b: a grid's z extent, below 65536
    T score = T(s.scale) * acc + rel_pos[head * s.table() + s.rel_index(q, key)];
#ifdef __CUDA_ARCH__
    *at = writes == Writes::Probabilities ? T(exp(score - row_values[row])) : score;
#else
    *at = writes == Writes::Probabilities ? T(std::exp(score - row_values[row])) : score;
#endif
  }
};

// The tiles of the score products, whose epilogue (ScoreStore) is
// attention's own: each tile is a kernel of attention.cu alone.
constexpr GemmTileSet kAttentionScoreTiles = GemmTileSet::NoLarge;

// The three shapes of product (attention_products below).
struct AttentionProducts {
  GemmDims scores, values, keys_grad;  // N×N (k = d); N×d (k = N) for O, dQ; N×d (k = N) over Pᵀ for dV, dK
  GemmTiling scores_tiles, values_tiles, keys_grad_tiles;
};

inline double attention_score_bytes(const AttentionShape& s, int64_t element_bytes) {
  return double(s.windows) * s.heads * s.tokens * s.tokens * element_bytes;
}
inline double attention_token_bytes(const AttentionShape& s, int64_t element_bytes) {
  return double(s.windows) * s.tokens * s.channels * element_bytes;
}

// The three shapes of product: their tiles depend on the element type, the
// matmul precision and whether the GPU has tensor cores, and so do the launch
// plans, which are made from the products the kernels actually run.
inline AttentionProducts attention_products(const AttentionShape& s, int64_t element_bytes, MatmulPrecision precision,
                                            bool tensor_cores) {
  int64_t n = s.tokens, d = s.head_dim(), items = s.windows * s.heads;
  double bytes = 2 * attention_token_bytes(s, element_bytes) + attention_score_bytes(s, element_bytes);
  AttentionProducts p;
  p.scores_tiles = choose_gemm_tiling({"attention_scores", n, n, d, items, bytes}, element_bytes, precision,
                                      tensor_cores, kAttentionScoreTiles);
  p.scores = gemm_dims(n, n, d, items, p.scores_tiles);
  p.values_tiles =
      choose_gemm_tiling({"attention_values", n, d, n, items, bytes}, element_bytes, precision, tensor_cores);
  p.values = gemm_dims(n, d, n, items, p.values_tiles);
  p.keys_grad_tiles = p.values_tiles;
  p.keys_grad = p.values;
  return p;
}

// A warp per row of `rows`, its lanes over `length` elements.
inline cuda::LaunchPlan plan_attention_rows(const char* kernel, int64_t rows, int64_t length, double bytes,
                                            double flops) {
  cuda::LaunchPlan p = cuda::elementwise_plan(kernel, rows * 32, bytes, flops, kAttentionThreads);
  p.serial_reduction = (length + 31) / 32;
  return p;
}

inline std::vector<cuda::LaunchPlan> plan_attention_forward(const AttentionShape& s, int64_t element_bytes,
                                                            const AttentionProducts& p) {
  double scores = attention_score_bytes(s, element_bytes), tokens = attention_token_bytes(s, element_bytes);
  int64_t rows = s.windows * s.heads * s.tokens;
  // A product is one launch, whatever its tiling and split: the softmax is always the second.
  return {plan_tiled_gemm("attention_scores", p.scores, p.scores_tiles, 2 * tokens + scores, element_bytes),
          plan_attention_rows("attention_softmax", rows, s.tokens, 2 * scores, 4.0 * rows * s.tokens),
          plan_tiled_gemm("attention_values", p.values, p.values_tiles, 2 * tokens + scores, element_bytes)};
}

// The bias gradient, one launch: per (window, band of query rows, head,
// table entry) a thread summing the dS of the band's queries with a key at
// that offset — the windows' rows cut into as many bands as fill the GPU —
// a block column per (window, band); the last block of each row to arrive
// adds its entries over the windows' bands.
inline int64_t attention_bias_bands(const AttentionShape& s) {
  int64_t threads = s.windows * s.heads * s.table(), bands = 1;
  while (threads * bands < 2 * 132 * 128 && bands * 2 <= s.window_h) bands *= 2;
  return bands;
}
constexpr int64_t kAttentionBiasThreads = 128;
inline cuda::LaunchPlan plan_attention_bias_grad(const AttentionShape& s, int64_t element_bytes) {
  int64_t entries = s.heads * s.table(), pieces = s.windows * attention_bias_bands(s);
  const int64_t entry_blocks = cuda::blocks_to_cover(entries, kAttentionBiasThreads);
  DMDLK_CHECK(entry_blocks <= 65535, ErrorCode::InvalidArg, "attention: a bias table of ", entries,
              " entries is beyond the CUDA grid");
  cuda::LaunchPlan p;
  p.kernel = "attention_bias_grad";
  p.grid = {pieces, entry_blocks, 1};
  p.block.x = kAttentionBiasThreads;
  p.bytes = attention_score_bytes(s, element_bytes) + 2.0 * double(pieces) * entries * element_bytes +
            double(entries) * element_bytes;
  p.flops = double(s.windows) * s.heads * s.tokens * s.tokens + double(pieces) * entries;
  p.serial_reduction = s.window_w * cuda::blocks_to_cover(s.window_h, attention_bias_bands(s)) + pieces;
  return p;
}

inline std::vector<cuda::LaunchPlan> plan_attention_backward(const AttentionShape& s, int64_t element_bytes,
                                                             const AttentionProducts& p) {
  double scores = attention_score_bytes(s, element_bytes), tokens = attention_token_bytes(s, element_bytes);
  int64_t rows = s.windows * s.heads * s.tokens;
  std::vector<cuda::LaunchPlan> plans{
      plan_attention_rows("attention_delta", rows, s.head_dim(), 2 * tokens, 2.0 * rows * s.head_dim()),
      plan_tiled_gemm("attention_probabilities", p.scores, p.scores_tiles, 2 * tokens + scores, element_bytes),
      plan_tiled_gemm("attention_value_grad", p.keys_grad, p.keys_grad_tiles, 2 * tokens + scores, element_bytes),
      plan_tiled_gemm("attention_score_grad", p.scores, p.scores_tiles, 2 * tokens + 2 * scores, element_bytes),
      plan_tiled_gemm("attention_query_grad", p.values, p.values_tiles, 2 * tokens + scores, element_bytes),
      plan_tiled_gemm("attention_key_grad", p.keys_grad, p.keys_grad_tiles, 2 * tokens + scores, element_bytes)};
  plans.push_back(plan_attention_bias_grad(s, element_bytes));
  return plans;
}

}  // namespace dmdlk::cuda_ops
