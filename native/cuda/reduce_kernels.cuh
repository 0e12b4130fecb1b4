// The kernels of gpu/reduce.h's per-channel reductions (nvcc only), and the
// host function that runs one. A reduction is a value type V (a default V is
// the identity, V + V combines: sums, pairs of sums, Welford's moments), a
// loader load(o, c, i) giving element (o, c, i)'s contribution, and a
// finisher finish(c, total) that writes channel c's results.
#pragma once
#include <cub/block/block_reduce.cuh>

#include "core/tensor.h"
#include "cuda_check.cuh"
#include "gpu/reduce.h"

namespace dmdlk::cuda_ops {

// Two sums at once (a BatchNorm backward's Σdy and Σdy·x̂).
struct SumPair {
  double a = 0, b = 0;
  __host__ __device__ SumPair operator+(const SumPair& o) const { return {a + o.a, b + o.b}; }
};

// Count, mean and the sum of squared deviations (Welford), merged by Chan's
// formula: the variance without the cancellation of Σx² − (Σx)²/n.
struct Moments {
  double count = 0, mean = 0, m2 = 0;
  __host__ __device__ static Moments of(double x) { return {1, x, 0}; }
  __host__ __device__ Moments operator+(const Moments& o) const {
    double n = count + o.count;
    if (n == 0) return {};
    double delta = o.mean - mean;
    return {n, mean + delta * (o.count / n), m2 + o.m2 + delta * delta * (count * o.count / n)};
  }
};

namespace reduce {

struct Plus {
  template <typename V>
  __device__ V operator()(const V& a, const V& b) const {
    return a + b;
  }
};

template <typename V, class Load>
__global__ void __launch_bounds__(kReduceThreads) planes_kernel(ChannelReduction r, Load load, V* pieces) {
  using Block = cub::BlockReduce<V, int(kReduceThreads)>;
  __shared__ typename Block::TempStorage scratch;
  const int64_t piece = blockIdx.x, plane = piece / r.chunks, chunk = piece % r.chunks;
  const int64_t o = plane / r.l.channels, c = plane % r.l.channels;
  const int64_t begin = chunk * r.per_chunk, end = begin + r.per_chunk < r.l.inner ? begin + r.per_chunk : r.l.inner;
  V acc{};
  for (int64_t i = begin + threadIdx.x; i < end; i += kReduceThreads) acc = acc + load(o, c, i);
  V total = Block(scratch).Reduce(acc, Plus{});
  if (threadIdx.x == 0) pieces[piece] = total;
}

template <typename V, class Load>
__global__ void __launch_bounds__(kReduceThreads) columns_kernel(ChannelReduction r, Load load, V* pieces) {
  const int64_t columns = r.l.channels * r.l.inner, j = blockIdx.x * int64_t(kReduceThreads) + threadIdx.x;
  if (j >= columns) return;
  const int64_t chunk = blockIdx.y, c = j / r.l.inner, i = j % r.l.inner;
  const int64_t begin = chunk * r.per_chunk, end = begin + r.per_chunk < r.l.outer ? begin + r.per_chunk : r.l.outer;
  V acc{};
  for (int64_t o = begin; o < end; ++o) acc = acc + load(o, c, i);
  pieces[chunk * columns + j] = acc;
}

// A warp per channel, its lanes over the channel's pieces, then CUB's warp sum.
template <typename V, class Finish>
__global__ void __launch_bounds__(kReduceThreads) total_kernel(ChannelReduction r, const V* pieces, Finish finish) {
  using Warp = cub::WarpReduce<V>;
  __shared__ typename Warp::TempStorage scratch[kReduceThreads / 32];
  const int warp = threadIdx.x / 32;
  for_warp_rows(r.l.channels, [&](int64_t c, int lane) {
    const int64_t count = r.pieces_per_channel(), columns = r.l.channels * r.l.inner;
    V acc{};
    for (int64_t e = lane; e < count; e += 32) {
      // Piece e of channel c: (outer, chunk) of its planes, or (chunk, pixel) of its columns.
      int64_t index = r.planes ? ((e / r.chunks) * r.l.channels + c) * r.chunks + e % r.chunks
                               : (e / r.l.inner) * columns + c * r.l.inner + e % r.l.inner;
      acc = acc + pieces[index];
    }
    V total = Warp(scratch[warp]).Reduce(acc, Plus{});
    if (lane == 0) finish(c, total);
  });
}

}  // namespace reduce

// Runs one reduction over `l` on `device`: the launches of
// plan_channel_reduce(what, l, element_bytes, tensors, sizeof(V), finish_bytes).
template <typename V, class Load, class Finish>
void channel_reduce(int device, const std::string& what, const ChannelLayout& l, int64_t element_bytes, int tensors,
                    int64_t finish_bytes, const Load& load, const Finish& finish) {
  if (l.channels == 0) return;
  ChannelReduction r = channel_reduction(l);
  std::vector<cuda::LaunchPlan> plans =
      plan_channel_reduce(what, l, element_bytes, tensors, int64_t(sizeof(V)), finish_bytes);
  Tensor pieces =
      Tensor::empty({std::max<int64_t>(1, r.pieces()) * int64_t(sizeof(V))}, DType::U8, Device::cuda(device));
  V* p = reinterpret_cast<V*>(pieces.data<uint8_t>());
  if (r.pieces() > 0) {
    if (r.planes) launch(device, plans[0], reduce::planes_kernel<V, Load>, r, load, p);
    else launch(device, plans[0], reduce::columns_kernel<V, Load>, r, load, p);
  }
  launch(device, plans.back(), reduce::total_kernel<V, Finish>, r, static_cast<const V*>(p), finish);
}

}  // namespace dmdlk::cuda_ops
