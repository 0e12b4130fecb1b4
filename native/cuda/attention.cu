// Fused attention kernels: one thread per query (or key) row of one (window,
// head), head_dim <= 64. The forward runs an online softmax over the keys, so
// neither S nor P ever reaches global memory; it saves each row's
// log-sum-exp. The backward recomputes P = exp(S − lse) row by row: dQ and the
// bias gradient per query row (the bias gradient is an atomic scatter-add
// over windows), dK and dV per key row. A first, simple version: the
// tensor-core tiling of these loops is part of the speed work.
#include "cuda/attention.cuh"
#include "cuda_check.cuh"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

constexpr int kMaxHeadDim = 64;

__device__ inline void decompose(const AttentionShape& s, int64_t index, int64_t* w, int64_t* h, int64_t* row) {
  *row = index % s.tokens;
  *h = (index / s.tokens) % s.heads;
  *w = index / (s.tokens * s.heads);
}

template <typename T>
__device__ T score(const AttentionShape& s, const T* qrow, const T* krow, const T* table, int64_t qi, int64_t ki) {
  T dot = 0;
  for (int64_t e = 0; e < s.head_dim(); ++e) dot += qrow[e] * krow[e];
  return T(s.scale) * dot + table[s.rel_index(qi, ki)];
}

template <typename T>
__global__ void forward_kernel(AttentionShape s, const T* q, const T* k, const T* v, const T* rel_pos, T* out, T* lse) {
  int64_t index = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (index >= s.windows * s.heads * s.tokens) return;
  int64_t w, h, qi;
  decompose(s, index, &w, &h, &qi);
  int64_t d = s.head_dim(), c = s.channels, base = w * s.tokens * c + h * d;
  const T* table = rel_pos + h * s.table();
  const T* qrow = q + base + qi * c;
  T acc[kMaxHeadDim];
  for (int64_t e = 0; e < d; ++e) acc[e] = 0;
  T m = -INFINITY, l = 0;
  for (int64_t ki = 0; ki < s.tokens; ++ki) {
    T sc = score(s, qrow, k + base + ki * c, table, qi, ki);
    T m_new = sc > m ? sc : m;
    T correction = exp(m - m_new), pk = exp(sc - m_new);
    l = l * correction + pk;
    const T* vrow = v + base + ki * c;
    for (int64_t e = 0; e < d; ++e) acc[e] = acc[e] * correction + pk * vrow[e];
    m = m_new;
  }
  for (int64_t e = 0; e < d; ++e) out[base + qi * c + e] = acc[e] / l;
  lse[index] = m + log(l);
}

// delta[w, h, q] = Σ_e dO[q, e] · O[q, e] over the head's channels.
template <typename T>
__global__ void delta_kernel(AttentionShape s, const T* dout, const T* out, T* delta) {
  int64_t index = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (index >= s.windows * s.heads * s.tokens) return;
  int64_t w, h, qi;
  decompose(s, index, &w, &h, &qi);
  int64_t off = w * s.tokens * s.channels + h * s.head_dim() + qi * s.channels;
  T sum = 0;
  for (int64_t e = 0; e < s.head_dim(); ++e) sum += dout[off + e] * out[off + e];
  delta[index] = sum;
}

template <typename T>
__global__ void dq_kernel(AttentionShape s, const T* dout, const T* q, const T* k, const T* v, const T* rel_pos,
                          const T* lse, const T* delta, T* dq, T* drel) {
  int64_t index = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (index >= s.windows * s.heads * s.tokens) return;
  int64_t w, h, qi;
  decompose(s, index, &w, &h, &qi);
  int64_t d = s.head_dim(), c = s.channels, base = w * s.tokens * c + h * d;
  const T* table = rel_pos + h * s.table();
  const T *qrow = q + base + qi * c, *dorow = dout + base + qi * c;
  T acc[kMaxHeadDim];
  for (int64_t e = 0; e < d; ++e) acc[e] = 0;
  for (int64_t ki = 0; ki < s.tokens; ++ki) {
    const T *krow = k + base + ki * c, *vrow = v + base + ki * c;
    T p = exp(score(s, qrow, krow, table, qi, ki) - lse[index]);
    T dp = 0;
    for (int64_t e = 0; e < d; ++e) dp += dorow[e] * vrow[e];
    T ds = p * (dp - delta[index]);
    for (int64_t e = 0; e < d; ++e) acc[e] += ds * krow[e];
    atomicAdd(drel + h * s.table() + s.rel_index(qi, ki), ds);
  }
  for (int64_t e = 0; e < d; ++e) dq[base + qi * c + e] = T(s.scale) * acc[e];
}

template <typename T>
__global__ void dkv_kernel(AttentionShape s, const T* dout, const T* q, const T* k, const T* v, const T* rel_pos,
                           const T* lse, const T* delta, T* dk, T* dv) {
  int64_t index = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  if (index >= s.windows * s.heads * s.tokens) return;
  int64_t w, h, ki;
  decompose(s, index, &w, &h, &ki);
  int64_t d = s.head_dim(), c = s.channels, base = w * s.tokens * c + h * d, rows = (w * s.heads + h) * s.tokens;
  const T* table = rel_pos + h * s.table();
  const T *krow = k + base + ki * c, *vrow = v + base + ki * c;
  T acc_k[kMaxHeadDim], acc_v[kMaxHeadDim];
  for (int64_t e = 0; e < d; ++e) acc_k[e] = acc_v[e] = 0;
  for (int64_t qi = 0; qi < s.tokens; ++qi) {
    const T *qrow = q + base + qi * c, *dorow = dout + base + qi * c;
    T p = exp(score(s, qrow, krow, table, qi, ki) - lse[rows + qi]);
    T dp = 0;
    for (int64_t e = 0; e < d; ++e) dp += dorow[e] * vrow[e];
    T ds = p * (dp - delta[rows + qi]);
    for (int64_t e = 0; e < d; ++e) acc_v[e] += p * dorow[e], acc_k[e] += ds * qrow[e];
  }
  for (int64_t e = 0; e < d; ++e) dk[base + ki * c + e] = T(s.scale) * acc_k[e], dv[base + ki * c + e] = acc_v[e];
}

void check_head_dim(const AttentionShape& s) {
  DMDLK_CHECK(s.head_dim() <= kMaxHeadDim, ErrorCode::Shape, "attention on CUDA supports head_dim <= ", kMaxHeadDim,
              ", got ", s.head_dim());
}

}  // namespace

template <typename T>
void attention_forward(int device, const AttentionShape& s, const T* q, const T* k, const T* v, const T* rel_pos,
                       T* out, T* logsumexp) {
  check_head_dim(s);
  launch(device, plan_attention_forward(s, sizeof(T)), forward_kernel<T>, s, q, k, v, rel_pos, out, logsumexp);
}

template <typename T>
void attention_backward(int device, const AttentionShape& s, const T* dout, const T* q, const T* k, const T* v,
                        const T* rel_pos, const T* out, const T* logsumexp, T* dq, T* dk, T* dv, T* drel_pos) {
  check_head_dim(s);
  Tensor delta = Tensor::empty({s.windows * s.heads * s.tokens}, dtype_of<T>::value, Device::cuda(device));
  const T* d = delta.data<T>();
  std::vector<LaunchPlan> plans = plan_attention_backward(s, sizeof(T));
  launch(device, plans[0], delta_kernel<T>, s, dout, out, delta.data<T>());
  launch(device, plans[1], dq_kernel<T>, s, dout, q, k, v, rel_pos, logsumexp, d, dq, drel_pos);
  launch(device, plans[2], dkv_kernel<T>, s, dout, q, k, v, rel_pos, logsumexp, d, dk, dv);
}

#define INSTANTIATE(T)                                                                                              \
  template void attention_forward<T>(int, const AttentionShape&, const T*, const T*, const T*, const T*, T*, T*);   \
  template void attention_backward<T>(int, const AttentionShape&, const T*, const T*, const T*, const T*, const T*, \
                                      const T*, const T*, T*, T*, T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
