// Work over an [outer, inner] layout (images × pixels, or rows × positions) in
// blocks of up to `block` neighbouring inner positions, spread over the thread
// pool: body(o, first, count) for each block. For kernels whose loops must run
// along contiguous positions (a position's channels are inner apart).
#pragma once
#include <algorithm>
#include <cstdint>

#include "core/thread_pool.h"

namespace dmdlk {

template <typename Body>
void for_inner_blocks(int64_t outer, int64_t inner, int64_t block, int64_t grain, Body body) {
  int64_t per_outer = (inner + block - 1) / block;
  parallel_for(0, outer * per_outer, grain, [&](int64_t lo, int64_t hi) {
    for (int64_t task = lo; task < hi; ++task) {
      int64_t o = task / per_outer, first = task % per_outer * block;
      body(o, first, std::min(block, inner - first));
    }
  });
}

}  // namespace dmdlk
