// The kernels of gpu/reduce.h's per-channel reductions (nvcc only), and the
// host function that runs one. A reduction is a value type V (a default V is
// the identity, V + V combines: sums, pairs of sums, Welford's moments), a
// loader load(o, c, i) giving element (o, c, i)'s contribution, and a
// finisher finish(c, total) that writes channel c's results.
#pragma once
#include <cub/block/block_reduce.cuh>

#include "core/tensor.h"
#include "cuda/arrivals.cuh"
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

// Combines two partial values: called, not inlined, by CUB's trees and the
// last block's sums (Moments' merge divides in double precision: inlined at
// each of their steps it was most of a reduction kernel's code); the
// per-element loops add inline.
struct Plus {
  template <typename V>
  __device__ __noinline__ V operator()(const V& a, const V& b) const {
    return a + b;
  }
};

// A block per (outer, channel, chunk) piece; the last of a channel's pieces
// to arrive adds them up, its threads over the pieces in a fixed order.
template <typename V, class Load, class Finish>
__global__ void __launch_bounds__(kReduceThreads)
    planes_kernel(ChannelReduction r, Load load, Finish finish, V* pieces, unsigned* arrivals) {
  using Block = cub::BlockReduce<V, int(kReduceThreads)>;
  __shared__ typename Block::TempStorage scratch;
  const PlanePiece p = plane_piece(r, blockIdx.x);
  V acc{};
  for (int64_t i = p.begin + threadIdx.x; i < p.end; i += kReduceThreads) acc = acc + load(p.o, p.c, i);
  V total = Block(scratch).Reduce(acc, Plus{});
  if (threadIdx.x == 0) pieces[blockIdx.x] = total;
  if (!last_to_arrive(&arrivals[p.c], r.arrivals_per_counter())) return;
  __syncthreads();  // scratch is reused
  acc = V{};
  for (int64_t e = threadIdx.x; e < r.pieces_per_channel(); e += kReduceThreads)
    acc = Plus{}(acc, load_arrived(&pieces[r.piece_index(p.c, e)]));
  total = Block(scratch).Reduce(acc, Plus{});
  if (threadIdx.x == 0) finish(p.c, total);
}

// A block per (group of whole channels, chunk of outer rows): kColumnLanes
// threads over the group's columns by kRowLanes over the chunk's rows, the
// row lanes' sums added in shared memory into one piece per column. The last
// of a group's chunks to arrive adds up its channels' pieces, a warp per
// channel, its lanes over the pieces in a fixed order.
template <typename V, class Load, class Finish>
__global__ void __launch_bounds__(kReduceThreads)
    columns_kernel(ChannelReduction r, Load load, Finish finish, V* pieces, unsigned* arrivals) {
  using Warp = cub::WarpReduce<V>;
  __shared__ typename Warp::TempStorage scratch[kReduceThreads / 32];
  __shared__ V row_sums[kRowLanes][kColumnLanes];
  const ColumnLane c = column_lane(r, blockIdx.x, blockIdx.y, threadIdx.x);
  const int column = threadIdx.x % kColumnLanes, row_lane = threadIdx.x / kColumnLanes;
  V acc{};
  if (c.active)
    for (int64_t o = c.begin; o < c.end; o += kRowLanes) acc = acc + load(o, c.c, c.i);
  row_sums[row_lane][column] = acc;
  __syncthreads();
  if (c.active && row_lane == 0) {
#pragma unroll
    for (int lane = 1; lane < kRowLanes; ++lane) acc = Plus{}(acc, row_sums[lane][column]);
    pieces[c.piece] = acc;
  }
  if (!last_to_arrive(&arrivals[blockIdx.x], r.arrivals_per_counter())) return;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int64_t c0 = int64_t(blockIdx.x) * r.channels_per_block;
  const int64_t c_end = c0 + r.channels_per_block < r.l.channels ? c0 + r.channels_per_block : r.l.channels;
  for (int64_t ch = c0 + warp; ch < c_end; ch += kReduceThreads / 32) {
    V sum{};
    for (int64_t e = lane; e < r.pieces_per_channel(); e += 32)
      sum = Plus{}(sum, load_arrived(&pieces[r.piece_index(ch, e)]));
    V total = Warp(scratch[warp]).Reduce(sum, Plus{});
    if (lane == 0) finish(ch, total);
  }
}

}  // namespace reduce

// Runs one reduction over `l` on `device`: the launch of
// plan_channel_reduce(what, l, element_bytes, tensors, sizeof(V), finish_bytes).
template <typename V, class Load, class Finish>
void channel_reduce(int device, const std::string& what, const ChannelLayout& l, int64_t element_bytes, int tensors,
                    int64_t finish_bytes, const Load& load, const Finish& finish) {
  if (l.channels == 0) return;
  ChannelReduction r = channel_reduction(l);
  cuda::LaunchPlan plan = plan_channel_reduce(what, l, element_bytes, tensors, int64_t(sizeof(V)), finish_bytes)[0];
  Tensor pieces = Tensor::empty({r.pieces() * int64_t(sizeof(V))}, DType::U8, Device::cuda(device));
  V* p = reinterpret_cast<V*>(pieces.data<uint8_t>());
  unsigned* arrivals = cuda::arrival_counters(device, size_t(r.counters()));
  if (r.planes) launch(device, plan, reduce::planes_kernel<V, Load, Finish>, r, load, finish, p, arrivals);
  else launch(device, plan, reduce::columns_kernel<V, Load, Finish>, r, load, finish, p, arrivals);
}

}  // namespace dmdlk::cuda_ops
