// Per-channel reductions of a [outer, C, inner] tensor (bias gradients,
// BatchNorm's statistics and parameter gradients) in two stages that fill
// the GPU, and their launch plans; the kernels are in reduce_kernels.cuh.
//
// Stage 1 reduces pieces: where a channel's planes are long (inner ≥
// kLongPlane), one block per chunk of a plane, its threads walking
// neighbouring pixels (coalesced); otherwise one thread per (channel, pixel)
// column of a chunk of outer rows, neighbouring threads reading neighbouring
// addresses of each row. Stage 2 combines a channel's pieces, one thread per
// channel, and hands the total to the caller's finisher. Deterministic: no
// atomics, a fixed order for a given shape.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/host_device.h"
#include "gpu/launch_plan.h"
#include "ops/bias.h"

namespace dmdlk::cuda_ops {

constexpr int64_t kReduceThreads = 256, kLongPlane = 64, kMaxReduceSerial = 4096;

// How stage 1 cuts the work.
struct ChannelReduction {
  ChannelLayout l;
  bool planes = true;     // a block per plane chunk, else a thread per column of a row chunk
  int64_t chunks = 1;     // of each plane (planes) or of the outer rows (columns)
  int64_t per_chunk = 0;  // pixels of a plane, or outer rows, per chunk
  DMDLK_HD int64_t pieces() const { return planes ? l.outer * l.channels * chunks : chunks * l.channels * l.inner; }
  // The pieces stage 2 combines per channel.
  DMDLK_HD int64_t pieces_per_channel() const { return planes ? l.outer * chunks : chunks * l.inner; }
};

inline ChannelReduction channel_reduction(const ChannelLayout& l) {
  auto cover = [](int64_t a, int64_t b) { return b <= 0 ? int64_t(0) : (a + b - 1) / b; };
  ChannelReduction r;
  r.l = l;
  r.planes = l.inner >= kLongPlane;
  if (r.planes) {
    // Chunks of a plane until each thread walks at most kMaxReduceSerial pixels
    // and, while a chunk keeps 8 pixels a thread, the blocks fill the GPU.
    int64_t planes = l.outer * l.channels;
    r.chunks = std::max<int64_t>(1, cover(l.inner, kReduceThreads * kMaxReduceSerial));
    while (planes * r.chunks < 2 * 132 && cover(l.inner, r.chunks * 2) >= 8 * kReduceThreads) r.chunks *= 2;
    r.per_chunk = cover(l.inner, r.chunks);
  } else {
    int64_t columns = l.channels * l.inner, blocks = cover(columns, kReduceThreads);
    r.chunks = std::max<int64_t>(1, cover(l.outer, kMaxReduceSerial));
    while (blocks * r.chunks < 2 * 132 && cover(l.outer, r.chunks * 2) >= 8) r.chunks *= 2;
    r.per_chunk = cover(l.outer, r.chunks);
  }
  r.chunks = std::max<int64_t>(1, cover(r.planes ? l.inner : l.outer, std::max<int64_t>(1, r.per_chunk)));
  return r;
}

// Stage 1 reads `tensors` tensors of the layout's size and writes a piece
// of `value_bytes`; stage 2 reads the pieces and writes `finish_bytes` per channel.
inline std::vector<cuda::LaunchPlan> plan_channel_reduce(const std::string& what, const ChannelLayout& l,
                                                         int64_t element_bytes, int tensors, int64_t value_bytes,
                                                         int64_t finish_bytes) {
  ChannelReduction r = channel_reduction(l);
  double n = double(l.outer) * l.channels * l.inner;
  cuda::LaunchPlan pieces;
  pieces.kernel = what + (r.planes ? "_planes" : "_columns");
  pieces.block.x = kReduceThreads;
  if (r.planes) {
    pieces.grid.x = r.pieces();
    pieces.shared_bytes = 32 * value_bytes;  // CUB's warp totals
    pieces.serial_reduction = (r.per_chunk + kReduceThreads - 1) / kReduceThreads;
  } else {
    pieces.grid = {(l.channels * l.inner + kReduceThreads - 1) / kReduceThreads, r.chunks, 1};
    pieces.serial_reduction = r.per_chunk;
  }
  pieces.bytes = n * element_bytes * tensors + double(r.pieces()) * value_bytes;
  pieces.flops = n * 2 * tensors;
  cuda::LaunchPlan total = cuda::elementwise_plan(what + "_total", l.channels * 32,
                                                  double(r.pieces()) * value_bytes + double(l.channels) * finish_bytes,
                                                  double(r.pieces()), kReduceThreads);
  total.shared_bytes = (kReduceThreads / 32) * value_bytes;
  total.serial_reduction = std::max<int64_t>(1, (r.pieces_per_channel() + 31) / 32);
  if (r.pieces() == 0) return {total};  // an empty tensor: every channel's total is the identity
  return {pieces, total};
}

}  // namespace dmdlk::cuda_ops
