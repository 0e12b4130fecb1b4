// Per-channel reductions of a [outer, C, inner] tensor (bias gradients,
// BatchNorm's statistics and parameter gradients) in one launch that fills
// the GPU, and its launch plan; the kernels are in reduce_kernels.cuh.
//
// Blocks reduce pieces: where a channel's planes are long (inner ≥
// kLongPlane), one block per chunk of a plane, its threads walking
// neighbouring pixels (coalesced); otherwise a block per group of whole
// channels' (channel, pixel) columns and a chunk of outer rows, its threads
// kColumnLanes neighbouring columns (neighbouring addresses of a row) by
// kRowLanes rows. Each block then counts its arrival
// (cuda::arrival_counters): the last block to finish a channel's pieces
// (planes) or a channel group's row chunks (columns) combines them and hands
// each total to the caller's finisher. Deterministic: the pieces are
// combined in a fixed order whichever block arrives last.
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
constexpr int64_t kColumnLanes = 64, kRowLanes = kReduceThreads / kColumnLanes;

// How the work is cut.
struct ChannelReduction {
  ChannelLayout l;
  bool planes = true;              // a block per plane chunk, else a thread per column of a row chunk
  int64_t chunks = 1;              // of each plane (planes) or of the outer rows (columns)
  int64_t per_chunk = 0;           // pixels of a plane, or outer rows, per chunk
  int64_t channels_per_block = 1;  // columns: whole channels, kColumnLanes / inner of them
  // A tensor without elements still finishes every channel (with the
  // identity): its planes count as one empty plane per channel.
  DMDLK_HD int64_t outer_planes() const { return l.outer > 0 ? l.outer : 1; }
  DMDLK_HD int64_t channel_groups() const { return (l.channels + channels_per_block - 1) / channels_per_block; }
  DMDLK_HD int64_t pieces() const {
    return planes ? outer_planes() * l.channels * chunks : chunks * l.channels * l.inner;
  }
  // The pieces combined per channel.
  DMDLK_HD int64_t pieces_per_channel() const { return planes ? outer_planes() * chunks : chunks * l.inner; }
  // The arrival counters: a channel's pieces (planes), a channel group's row chunks (columns).
  DMDLK_HD int64_t counters() const { return planes ? l.channels : channel_groups(); }
  DMDLK_HD int64_t arrivals_per_counter() const { return planes ? pieces_per_channel() : chunks; }
  // Where channel c's piece e (< pieces_per_channel()) lives: planes
  // [outer][channel][chunk], columns [chunk][channel][pixel]. (32-bit
  // division: a channel's pieces are blocks of one grid, or rows of them.)
  DMDLK_HD int64_t piece_index(int64_t c, int64_t e) const {
    const uint32_t per = uint32_t(planes ? chunks : l.inner), high = uint32_t(e) / per, low = uint32_t(e) % per;
    return planes ? (high * l.channels + c) * chunks + low : (high * l.channels + c) * l.inner + low;
  }
};

// What a planes block (`piece`, the grid's x) reduces: pixels [begin, end) of plane (o, c).
struct PlanePiece {
  int64_t o, c, chunk, begin, end;
};
DMDLK_HD PlanePiece plane_piece(const ChannelReduction& r, uint32_t piece) {
  const uint32_t plane = piece / uint32_t(r.chunks), channels = uint32_t(r.l.channels);
  PlanePiece p;
  p.chunk = piece % uint32_t(r.chunks), p.o = plane / channels, p.c = plane % channels;
  p.begin = p.chunk * r.per_chunk;
  p.end = p.o >= r.l.outer ? p.begin : p.begin + r.per_chunk < r.l.inner ? p.begin + r.per_chunk : r.l.inner;
  return p;
}

// What a columns thread reduces: column (c, i) over rows begin, begin +
// kRowLanes, ... < end, for block (group, chunk); inactive past the group's channels.
struct ColumnLane {
  int64_t c, i, begin, end, piece;
  bool active;
};
DMDLK_HD ColumnLane column_lane(const ChannelReduction& r, uint32_t group, uint32_t chunk, uint32_t thread) {
  const uint32_t column = thread % uint32_t(kColumnLanes), row_lane = thread / uint32_t(kColumnLanes);
  const uint32_t inner = uint32_t(r.l.inner);  // < kLongPlane
  ColumnLane lane;
  lane.c = group * r.channels_per_block + column / inner, lane.i = column % inner;
  lane.active = column < r.channels_per_block * inner && lane.c < r.l.channels;
  const int64_t first = chunk * r.per_chunk;
  lane.begin = first + row_lane;
  lane.end = first + r.per_chunk < r.l.outer ? first + r.per_chunk : r.l.outer;
  lane.piece = lane.active ? r.piece_index(lane.c, chunk * r.l.inner + lane.i) : -1;
  return lane;
}

inline ChannelReduction channel_reduction(const ChannelLayout& l) {
  auto cover = [](int64_t a, int64_t b) { return b <= 0 ? int64_t(0) : (a + b - 1) / b; };
  ChannelReduction r;
  r.l = l;
  r.planes = l.inner >= kLongPlane || l.outer * l.inner == 0;
  if (r.planes) {
    // Chunks of a plane until each thread walks at most kMaxReduceSerial pixels
    // and, while a chunk keeps 8 pixels a thread, the blocks fill the GPU.
    int64_t planes = r.outer_planes() * l.channels;
    r.chunks = std::max<int64_t>(1, cover(l.inner, kReduceThreads * kMaxReduceSerial));
    while (planes * r.chunks < 2 * 132 && cover(l.inner, r.chunks * 2) >= 8 * kReduceThreads) r.chunks *= 2;
    r.per_chunk = cover(l.inner, r.chunks);
  } else {
    // Chunks of the rows until each thread walks at most kMaxReduceSerial
    // and, while a thread keeps 4 rows, the blocks fill the GPU.
    r.channels_per_block = kColumnLanes / l.inner;  // ≥ 1: inner < kLongPlane
    int64_t blocks = r.channel_groups();
    r.chunks = std::max<int64_t>(1, cover(l.outer, kRowLanes * kMaxReduceSerial));
    while (blocks * r.chunks < 2 * 132 && cover(l.outer, r.chunks * 2) >= 4 * kRowLanes) r.chunks *= 2;
    r.per_chunk = cover(l.outer, r.chunks);
  }
  r.chunks = std::max<int64_t>(1, cover(r.planes ? l.inner : l.outer, std::max<int64_t>(1, r.per_chunk)));
  return r;
}

// Σ over outer and inner, per channel c, of dy (times other[o·so + c·sc +
// i·si] where `other` is given, its strides {so, sc, si}), divided by
// `divisor`, into out[c]: plan_channel_reduce(what, l, sizeof(T), other ? 2
// : 1, 8, sizeof(T))'s launch (channel_sum.cu). With `other_grad` (other of
// dy's layout), other_grad = dy · self[c] as each element is read.
template <typename T>
void channel_sum(int device, const std::string& what, const ChannelLayout& l, const T* dy, const T* other,
                 const int64_t* other_strides, double divisor, T* out, const T* self = nullptr,
                 T* other_grad = nullptr);

// The launch: it reads `tensors` tensors of the layout's size, writes a
// piece of `value_bytes` per block (planes) or thread (columns), and the
// last arrivals read them back and write `finish_bytes` per channel.
inline std::vector<cuda::LaunchPlan> plan_channel_reduce(const std::string& what, const ChannelLayout& l,
                                                         int64_t element_bytes, int tensors, int64_t value_bytes,
                                                         int64_t finish_bytes) {
  ChannelReduction r = channel_reduction(l);
  double n = double(l.outer) * l.channels * l.inner;
  cuda::LaunchPlan p;
  p.kernel = what + (r.planes ? "_planes" : "_columns");
  p.block.x = kReduceThreads;
  if (r.planes) {
    p.grid.x = r.pieces();
    p.shared_bytes = 32 * value_bytes;  // CUB's warp totals
    // A thread's pixels, then the last block's share of the channel's pieces.
    p.serial_reduction = (r.per_chunk + kReduceThreads - 1) / kReduceThreads +
                         (r.pieces_per_channel() + kReduceThreads - 1) / kReduceThreads;
  } else {
    p.grid = {r.channel_groups(), r.chunks, 1};
    p.shared_bytes = kReduceThreads * value_bytes;
    // A thread's rows, its column's row lanes, then the last block's
    // channels, a warp each, its lanes over a channel's pieces.
    int64_t channels_per_warp = (r.channels_per_block + kReduceThreads / 32 - 1) / (kReduceThreads / 32);
    p.serial_reduction = (r.per_chunk + kRowLanes - 1) / kRowLanes + kRowLanes +
                         channels_per_warp * ((r.pieces_per_channel() + 31) / 32);
  }
  p.bytes = n * element_bytes * tensors + 2.0 * double(r.pieces()) * value_bytes + double(l.channels) * finish_bytes;
  p.flops = n * 2 * tensors + double(r.pieces());
  return {p};
}

}  // namespace dmdlk::cuda_ops
