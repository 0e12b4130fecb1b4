#include "ops/attention.h"

#include <cmath>
#include <vector>

#include "core/thread_pool.h"
#include "gpu/attention.h"
#include "ops/backend.h"
#include "ops/gemm.h"
#include "ops/op.h"
#include "ops/op_checks.h"
#include "ops/softmax_row.h"

namespace dmdlk {

namespace {

// q, k, v [W, N, C] and rel_pos [heads, 2wh − 1, 2ww − 1], from their shapes.
AttentionShape attention_shape(const Shape& q, const Shape& k, const Shape& v, const Shape& rel_pos,
                               const AttentionAttrs& a, const char* op) {
  DMDLK_CHECK(q.size() == 3, ErrorCode::Shape, op, ": q must have rank 3 ([windows, tokens, channels]), got shape ",
              shape_str(q));
  DMDLK_CHECK(k == q, ErrorCode::Shape, op, ": k must have shape ", shape_str(q), ", got ", shape_str(k));
  DMDLK_CHECK(v == q, ErrorCode::Shape, op, ": v must have shape ", shape_str(q), ", got ", shape_str(v));
  AttentionShape s{q[0], q[1], q[2], a.heads, a.window_h, a.window_w, a.scale};
  DMDLK_CHECK(a.heads >= 1 && s.channels % a.heads == 0, ErrorCode::Shape, op, ": ", a.heads,
              " heads do not divide the ", s.channels, " channels");
  DMDLK_CHECK(a.window_h >= 1 && a.window_w >= 1 && a.window_h * a.window_w == s.tokens, ErrorCode::Shape, op, ": a ",
              a.window_h, "×", a.window_w, " window holds ", a.window_h * a.window_w, " tokens but q has ", s.tokens);
  DMDLK_CHECK(std::isfinite(a.scale), ErrorCode::InvalidArg, op, ": scale must be finite");
  Shape table{a.heads, 2 * a.window_h - 1, 2 * a.window_w - 1};
  DMDLK_CHECK(rel_pos == table, ErrorCode::Shape, op, ": rel_pos must have shape ", shape_str(table), ", got ",
              shape_str(rel_pos));
  return s;
}

AttentionShape attention_shape(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& rel_pos, int64_t wh,
                               int64_t ww, int64_t heads, double scale, const char* op) {
  check_floating(q, op, "q");
  check_compatible(k, q, op, "k", "q");
  check_compatible(v, q, op, "v", "q");
  check_compatible(rel_pos, q, op, "rel_pos", "q");
  return attention_shape(q.shape(), k.shape(), v.shape(), rel_pos.shape(), AttentionAttrs{wh, ww, heads, scale}, op);
}

// The bias entries of query qi against every key, one key row (x) at a time:
// keys (x, 0…ww−1) use ww consecutive entries of the head's table (or of its
// gradient), so rel_index's divisions are paid once per query, not per key.
// body(first key of the row, its entries).
template <typename Entry, typename Body>
void for_bias_rows(const AttentionShape& s, Entry* table, int64_t qi, Body body) {
  Entry* first = table + s.rel_index(qi, 0);
  for (int64_t x = 0; x < s.window_h; ++x) body(x * s.window_w, first + x * (2 * s.window_w - 1));
}

// Scores of one (window, head): S = scale · Q_h K_hᵀ + Bias_h, then P =
// softmax(S) in place; each row's log-sum-exp goes to lse when given.
template <typename T>
void cpu_probabilities(const AttentionShape& s, const T* qh, const T* kh, const T* table, T* p, T* lse = nullptr) {
  int64_t n = s.tokens, d = s.head_dim(), ww = s.window_w;
  GemmShape g;
  g.m = n, g.n = n, g.k = d, g.trans_b = true, g.lda = s.channels, g.ldb = s.channels, g.ldc = n;
  cpu_ops::gemm<T>(g, T(s.scale), qh, kh, 0, p);
  for (int64_t qi = 0; qi < n; ++qi) {
    T* row = p + qi * n;
    for_bias_rows(s, table, qi, [&](int64_t k0, const T* bias) {
      for (int64_t y = 0; y < ww; ++y) row[k0 + y] += bias[y];
    });
    T row_lse = softmax_row(row, row, n);
    if (lse) lse[qi] = row_lse;
  }
}

}  // namespace

namespace cpu_ops {

template <typename T>
void attention_forward(const AttentionShape& s, const T* q, const T* k, const T* v, const T* rel_pos, T* out, T* lse) {
  int64_t n = s.tokens, d = s.head_dim(), c = s.channels;
  parallel_for(0, s.windows * s.heads, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> p(size_t(n * n));
    for (int64_t task = lo; task < hi; ++task) {
      int64_t w = task / s.heads, h = task % s.heads, off = w * n * c + h * d;
      cpu_probabilities(s, q + off, k + off, rel_pos + h * s.table(), p.data(), lse + task * n);
      GemmShape g;  // O_h = P V_h, written into the head's channels
      g.m = n, g.n = d, g.k = n, g.lda = n, g.ldb = c, g.ldc = c;
      cpu_ops::gemm<T>(g, 1, p.data(), v + off, 0, out + off);
    }
  });
}

// The probabilities are recomputed from q and k rather than from out and
// logsumexp (taken for the same signature as CUDA's).
template <typename T>
void attention_backward(const AttentionShape& s, const T* dout, const T* q, const T* k, const T* v, const T* rel_pos,
                        const T* /*out*/, const T* /*logsumexp*/, T* dq, T* dk, T* dv, T* drel) {
  int64_t n = s.tokens, d = s.head_dim(), c = s.channels;
  // Bias gradients per (window, head), summed over windows afterwards: no shared writes.
  std::vector<T> partial(size_t(s.windows * s.heads * s.table()), T(0));
  parallel_for(0, s.windows * s.heads, 1, [&](int64_t lo, int64_t hi) {
    std::vector<T> p(size_t(n * n)), dp(size_t(n * n));
    for (int64_t task = lo; task < hi; ++task) {
      int64_t w = task / s.heads, h = task % s.heads, off = w * n * c + h * d;
      cpu_probabilities(s, q + off, k + off, rel_pos + h * s.table(), p.data());
      GemmShape g;  // dP = dO_h V_hᵀ
      g.m = n, g.n = n, g.k = d, g.trans_b = true, g.lda = c, g.ldb = c, g.ldc = n;
      cpu_ops::gemm<T>(g, 1, dout + off, v + off, 0, dp.data());
      g = GemmShape();  // dV_h = Pᵀ dO_h
      g.m = n, g.n = d, g.k = n, g.trans_a = true, g.lda = n, g.ldb = c, g.ldc = c;
      cpu_ops::gemm<T>(g, 1, p.data(), dout + off, 0, dv + off);
      T* bias_grad = partial.data() + task * s.table();
      for (int64_t qi = 0; qi < n; ++qi) {  // dS = P ⊙ (dP − Σ_k dP ⊙ P), kept in dp
        T *dp_row = dp.data() + qi * n, *p_row = p.data() + qi * n, dot = 0;
        for (int64_t ki = 0; ki < n; ++ki) dot += dp_row[ki] * p_row[ki];
        for (int64_t ki = 0; ki < n; ++ki) dp_row[ki] = p_row[ki] * (dp_row[ki] - dot);
        for_bias_rows(s, bias_grad, qi, [&](int64_t k0, T* grad) {
          for (int64_t y = 0; y < s.window_w; ++y) grad[y] += dp_row[k0 + y];
        });
      }
      g = GemmShape();  // dQ_h = scale · dS K_h
      g.m = n, g.n = d, g.k = n, g.lda = n, g.ldb = c, g.ldc = c;
      cpu_ops::gemm<T>(g, T(s.scale), dp.data(), k + off, 0, dq + off);
      g.trans_a = true;  // dK_h = scale · dSᵀ Q_h
      cpu_ops::gemm<T>(g, T(s.scale), dp.data(), q + off, 0, dk + off);
    }
  });
  for (int64_t h = 0; h < s.heads; ++h)
    for (int64_t e = 0; e < s.table(); ++e) {
      T sum = 0;
      for (int64_t w = 0; w < s.windows; ++w) sum += partial[size_t((w * s.heads + h) * s.table() + e)];
      drel[h * s.table() + e] = sum;
    }
}

}  // namespace cpu_ops

AttentionOutput attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& rel_pos, int64_t window_h,
                          int64_t window_w, int64_t heads, double scale) {
  AttentionShape s = attention_shape(q, k, v, rel_pos, window_h, window_w, heads, scale, "attention");
  AttentionOutput out{Tensor::empty(q.shape(), q.dtype(), q.device()),
                      Tensor::empty({s.windows, heads, s.tokens}, q.dtype(), q.device())};
  if (q.numel() == 0) return out;
  dispatch_floating(q.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(q.device(), attention_forward, s, q.data<T>(), k.data<T>(), v.data<T>(), rel_pos.data<T>(),
                    out.out.data<T>(), out.logsumexp.data<T>());
  });
  return out;
}

AttentionGrads attention_backward(const Tensor& dout, const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& rel_pos, const AttentionOutput& forward, int64_t window_h,
                                  int64_t window_w, int64_t heads, double scale) {
  const char* op = "attention_backward";
  AttentionShape s = attention_shape(q, k, v, rel_pos, window_h, window_w, heads, scale, op);
  check_compatible(dout, q, op, "dout", "q");
  check_shape(dout, q.shape(), op, "dout");
  check_compatible(forward.out, q, op, "out", "q");
  check_shape(forward.out, q.shape(), op, "out");
  check_compatible(forward.logsumexp, q, op, "logsumexp", "q");
  check_shape(forward.logsumexp, {s.windows, heads, s.tokens}, op, "logsumexp");
  AttentionGrads g{Tensor::empty(q.shape(), q.dtype(), q.device()), Tensor::empty(q.shape(), q.dtype(), q.device()),
                   Tensor::empty(q.shape(), q.dtype(), q.device()),
                   Tensor::empty(rel_pos.shape(), q.dtype(), q.device())};
  if (q.numel() == 0) return g;
  dispatch_floating(q.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(q.device(), attention_backward, s, dout.data<T>(), q.data<T>(), k.data<T>(), v.data<T>(),
                    rel_pos.data<T>(), forward.out.data<T>(), forward.logsumexp.data<T>(), g.dq.data<T>(),
                    g.dk.data<T>(), g.dv.data<T>(), g.drel_pos.data<T>());
  });
  return g;
}

// ---- the graph's attention: inputs q, k, v, rel_pos; outputs the tokens and
// each score row's log-sum-exp (which the backward reads) ------------------------
extern const OpDef attention_op{
    OpKind::Attention,
    "attention",
    []() -> OpAttrs { return AttentionAttrs{}; },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      AttentionShape s = attention_shape(in[0], in[1], in[2], in[3], std::get<AttentionAttrs>(a), "attention");
      return std::vector<Shape>{in[0], {s.windows, s.heads, s.tokens}};
    },
    [](const Tensors& in, const OpAttrs& attrs) {
      const auto& a = std::get<AttentionAttrs>(attrs);
      AttentionOutput out = attention(in[0], in[1], in[2], in[3], a.window_h, a.window_w, a.heads, a.scale);
      return Tensors{out.out, out.logsumexp};
    },
    [](const Tensors& in, const Tensors& out, const Tensors& d, const OpAttrs& attrs, WantedGrads) {
      const auto& a = std::get<AttentionAttrs>(attrs);
      AttentionGrads g = attention_backward(d[0], in[0], in[1], in[2], in[3], {out[0], out[1]}, a.window_h, a.window_w,
                                            a.heads, a.scale);
      return Tensors{g.dq, g.dk, g.dv, g.drel_pos};
    },
    [](const std::vector<Shape>& in, const OpAttrs& a) {
      AttentionShape s = attention_shape(in[0], in[1], in[2], in[3], std::get<AttentionAttrs>(a), "attention");
      // Q·Kᵀ and P·V over every head: 2 · windows · N² · C multiply-accumulates.
      return OpCost{2.0 * s.windows * s.tokens * s.tokens * s.channels, shapes_bytes(in) + shapes_bytes({in[0]})};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs& a, Pass pass, WantedGrads) {
      AttentionShape s = attention_shape(in[0], in[1], in[2], in[3], std::get<AttentionAttrs>(a), "attention");
      int64_t bytes = int64_t(dtype_size(t));
      // What the kernels run on an H200 (tensor cores) at the process's precision.
      cuda_ops::AttentionProducts p = cuda_ops::attention_products(s, bytes, matmul_precision(), true);
      return pass == Pass::Forward ? cuda_ops::plan_attention_forward(s, bytes, p)
                                   : cuda_ops::plan_attention_backward(s, bytes, p);
    },
};

}  // namespace dmdlk
