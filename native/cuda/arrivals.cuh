// Blocks that count their arrivals (cuda::arrival_counters) so that the
// last one of a group finishes the group's work in the same launch: the
// split-K sum of a GEMM tile, a channel's total. The last block reads what
// the others wrote, in a fixed order, so the result does not depend on
// which block arrives last.
#pragma once
#include <cstdint>

namespace dmdlk::cuda_ops {

// Whether this block is the last of `expected` to arrive at `counter`
// (then the counter is zero again); every thread's writes before the call are
// visible to the last block's threads after it (the fence pattern of CUDA's
// threadFenceReduction sample).
__device__ inline bool last_to_arrive(unsigned* counter, int64_t expected) {
  __shared__ bool last;
  __threadfence();
  __syncthreads();
  if (threadIdx.x == 0) {
    last = atomicAdd(counter, 1u) == unsigned(expected - 1);
    if (last) *counter = 0;
  }
  __syncthreads();
  if (last) __threadfence();
  return last;
}

// A value another block wrote, read from L2 (never a stale L1 line): a
// float, a double, or a struct of doubles.
template <typename V>
__device__ V load_arrived(const V* value) {
  if constexpr (sizeof(V) == sizeof(float)) {
    return __ldcg(value);
  } else {
    static_assert(sizeof(V) % sizeof(double) == 0, "a float, a double or a struct of doubles");
    V v;
    const double* from = reinterpret_cast<const double*>(value);
    double* to = reinterpret_cast<double*>(&v);
#pragma unroll
    for (unsigned w = 0; w < sizeof(V) / sizeof(double); ++w) to[w] = __ldcg(from + w);
    return v;
  }
}

}  // namespace dmdlk::cuda_ops
