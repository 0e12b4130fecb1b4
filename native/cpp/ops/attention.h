// Multi-head attention inside windows, with MOAT's relative-position bias
// (docs/architecture.md, "Attention"). Inputs are the projected tokens
//   q, k, v [W, N, C]  (W = batch · windows, N = wh · ww tokens, row-major in the window)
//   rel_pos [heads, 2wh − 1, 2ww − 1]
// and, per head h (channels h·D … h·D + D − 1, D = C / heads):
//   S = scale · Q_h K_hᵀ + Bias_h,  Bias_h[q, k] = rel_pos[h, x − i + wh − 1, y − j + ww − 1]
//   for query (i, j) and key (x, y);  P = softmax over keys;  O_h = P V_h.
// Global attention is one window covering the whole map.
//
// The forward also returns the log-sum-exp of each score row, from which the
// backward recomputes P instead of storing it. CPU: a clear path per (window,
// head) on the GEMM. CUDA: fused kernels that never write the N×N matrix to
// global memory; the bias gradient is a scatter-add over windows.
#pragma once
#include "core/host_device.h"
#include "core/tensor.h"

namespace dmdlk {

struct AttentionShape {
  int64_t windows = 0, tokens = 0, channels = 0, heads = 1, window_h = 1, window_w = 1;
  double scale = 1;
  DMDLK_HD int64_t head_dim() const { return uint32_t(channels) / uint32_t(heads); }  // no 64-bit division on a GPU
  DMDLK_HD int64_t table() const { return (2 * window_h - 1) * (2 * window_w - 1); }
  // Index into one head's bias table for query q and key k (tokens of a
  // window: 32-bit divisions).
  DMDLK_HD int64_t rel_index(int64_t q, int64_t k) const {
    const uint32_t w = uint32_t(window_w);
    const int64_t i = uint32_t(q) / w, j = uint32_t(q) % w, x = uint32_t(k) / w, y = uint32_t(k) % w;
    return (x - i + window_h - 1) * (2 * window_w - 1) + (y - j + window_w - 1);
  }
};

struct AttentionOutput {
  Tensor out;        // [W, N, C]
  Tensor logsumexp;  // [W, heads, N]
};
AttentionOutput attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& rel_pos, int64_t window_h,
                          int64_t window_w, int64_t heads, double scale);

struct AttentionGrads {
  Tensor dq, dk, dv, drel_pos;
};
AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& rel_pos, const AttentionOutput& forward, int64_t window_h,
                                  int64_t window_w, int64_t heads, double scale);

}  // namespace dmdlk
