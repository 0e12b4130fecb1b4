// CUDA's fused window attention (attention.cu) and its launch plans.
#pragma once
#include <cstdint>

#include "cuda/launch_plan.h"
#include "ops/attention.h"

namespace dmdlk::cuda_ops {

template <typename T>
void attention_forward(int device, const AttentionShape& s, const T* q, const T* k, const T* v, const T* rel_pos,
                       T* out, T* logsumexp);
// drel_pos must be zeroed by the caller.
template <typename T>
void attention_backward(int device, const AttentionShape& s, const T* dout, const T* q, const T* k, const T* v,
                        const T* rel_pos, const T* out, const T* logsumexp, T* dq, T* dk, T* dv, T* drel_pos);

constexpr int64_t kAttentionThreads = 128;

// One thread per row (a query, or a key) of one (window, head), walking the
// `serial` rows of the other side one after the other.
inline cuda::LaunchPlan plan_attention_rows(const char* kernel, const AttentionShape& s, int64_t element_bytes,
                                            int64_t serial, double flops_per_pair, double tensors) {
  int64_t rows = s.windows * s.heads * s.tokens;
  cuda::LaunchPlan p;
  p.kernel = kernel;
  p.grid.x = cuda::blocks_to_cover(rows, kAttentionThreads);
  p.block.x = kAttentionThreads;
  p.bytes =
      double(s.windows) * s.tokens * s.channels * element_bytes * tensors + double(s.heads) * s.table() * element_bytes;
  p.flops = double(rows) * serial * s.head_dim() * flops_per_pair;
  p.serial_reduction = serial;
  // Fitted to the H200's op table: each thread re-reads every row of the
  // other side through the caches, a load for every two flops.
  p.compute_efficiency = 0.05;
  return p;
}
inline cuda::LaunchPlan plan_attention_forward(const AttentionShape& s, int64_t element_bytes) {
  return plan_attention_rows("attention_forward", s, element_bytes, s.tokens, 4, 4);
}
inline std::vector<cuda::LaunchPlan> plan_attention_backward(const AttentionShape& s, int64_t element_bytes) {
  return {plan_attention_rows("attention_backward_delta", s, element_bytes, s.head_dim(), 2.0 / s.tokens, 2),
          plan_attention_rows("attention_backward_dq", s, element_bytes, s.tokens, 6, 5),
          plan_attention_rows("attention_backward_dkv", s, element_bytes, s.tokens, 8, 6)};
}

}  // namespace dmdlk::cuda_ops
