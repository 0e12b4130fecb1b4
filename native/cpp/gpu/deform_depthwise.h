// DDLK's deformable convolution on CUDA (depthwise, one offset group, no
// mask: native/cuda/deform_depthwise.cu): what each thread of its two kernels
// computes, as host-and-device functions that test_deform_tiles runs block by
// block on the CPU against the CPU kernels, and their launch plans.
//
// Every channel of an image reads the same sample points, so a thread makes
// each tap's sample (make_deform_sample: corners, weights, derivative
// coefficients) once and applies it to a chunk of channels, where one thread
// per (channel, pixel) would redo the point's index math and offset reads per
// channel.
//   forward   a thread per output pixel and kForwardChannels channels, their
//             sums in registers.
//   backward  a block per 16×16 output tile of one image and one group of
//             channels, a thread per pixel, kBackwardChannels channels at a
//             time: dx is scattered into the block's halo (the input window
//             its tile's samples land in, offsets up to kHaloMargin pixels) in
//             shared memory and added to global memory once per chunk, with
//             global atomics only for samples beyond it; dweight summed per
//             warp into shared memory, then once per block; doffset summed
//             over the chunk's channels in registers.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "core/error.h"
#include "gpu/launch_plan.h"
#include "ops/deform_sample.h"

namespace dmdlk::cuda_ops {

template <typename T>
void deform_depthwise_forward(int device, const DeformGeometry& g, int64_t batch, const T* x, const T* offset,
                              const T* weight, T* y);
// dx, doffset and dweight arrive zeroed: the kernel accumulates into them.
template <typename T>
void deform_depthwise_backward(int device, const DeformGeometry& g, int64_t batch, const T* x, const T* offset,
                               const T* weight, const T* dy, T* dx, T* doffset, T* dweight);

constexpr int64_t kDeformThreads = 256;
constexpr int kForwardChannels = 16;  // a forward thread's sums, in registers
constexpr int kDeformTile = 16;       // output pixels along each side of a backward block's tile
static_assert(kDeformTile * kDeformTile == kDeformThreads, "a backward thread per pixel of its tile");
constexpr int kBackwardChannels = 4;  // channels a backward block scatters into its halo at once
constexpr int64_t kHaloMargin = 4;    // how far a sample may move off its tap and still land in the halo
// Shared memory a backward block may take without opting in to more
// (cudaFuncSetAttribute, which a captured CUDA graph would have to replay).
constexpr int64_t kDeformSharedBytes = 48 * 1024;
// Blocks that keep every SM of an H200 busy twice over (PlanRules::min_blocks):
// the backward splits the channels into groups until it launches that many.
constexpr int64_t kDeformTargetBlocks = 2 * 132;

// The backward's blocks: tiles_y × tiles_x tiles per image, `groups` groups of
// channels_per_group channels (a multiple of kBackwardChannels; the last group
// may hold fewer), and each tile's halo (0 × 0 where it would not fit in
// shared memory: every scatter then goes to global memory).
struct DeformTiles {
  int64_t tiles_y = 1, tiles_x = 1, groups = 1, channels_per_group = kBackwardChannels;
  int64_t halo_rows = 0, halo_cols = 0;
  DMDLK_HD int64_t tiles() const { return tiles_y * tiles_x; }
  DMDLK_HD int64_t halo_cells() const { return halo_rows * halo_cols; }
};

inline DeformTiles deform_tiles(const DeformGeometry& g, int64_t batch, int64_t element_bytes) {
  DeformTiles t;
  t.tiles_y = (g.out_h + kDeformTile - 1) / kDeformTile, t.tiles_x = (g.out_w + kDeformTile - 1) / kDeformTile;
  // A tile's taps read rows oy·stride − pad + i·dilation of its 16 output
  // rows; a sample's corners lie within the margin (plus one) of its tap.
  t.halo_rows = (kDeformTile - 1) * g.stride_h + (g.kernel_h - 1) * g.dilation_h + 2 * kHaloMargin + 2;
  t.halo_cols = (kDeformTile - 1) * g.stride_w + (g.kernel_w - 1) * g.dilation_w + 2 * kHaloMargin + 2;
  int64_t dweight_bytes = kBackwardChannels * g.taps() * element_bytes;
  DMDLK_CHECK(dweight_bytes <= kDeformSharedBytes, ErrorCode::InvalidArg, "deform_conv2d_backward: a ", g.kernel_h, "×",
              g.kernel_w, " kernel is too large for the CUDA backward (at most ",
              kDeformSharedBytes / (kBackwardChannels * element_bytes), " taps)");
  if (dweight_bytes + t.halo_cells() * kBackwardChannels * element_bytes > kDeformSharedBytes)
    t.halo_rows = t.halo_cols = 0;
  int64_t chunks = (g.channels + kBackwardChannels - 1) / kBackwardChannels;
  int64_t blocks = std::max<int64_t>(1, batch * t.tiles());
  int64_t groups = std::clamp<int64_t>((kDeformTargetBlocks + blocks - 1) / blocks, 1, chunks);
  t.channels_per_group = chunks / groups * kBackwardChannels;  // rounded down: at least `groups` groups
  t.groups = (g.channels + t.channels_per_group - 1) / t.channels_per_group;
  return t;
}

// Channels a forward thread sums (at most kForwardChannels): fewer where the
// image is too small for its pixels and chunks to fill the GPU.
inline int64_t deform_forward_chunk(const DeformGeometry& g, int64_t batch) {
  int64_t blocks = cuda::blocks_to_cover(g.pixels(), kDeformThreads) * batch, chunk = kForwardChannels;
  while (chunk > 1 && blocks * ((g.channels + chunk - 1) / chunk) < kDeformTargetBlocks) chunk /= 2;
  return chunk;
}

// Shared memory of a backward block: the halo of kBackwardChannels channels,
// then their dweight sums (deform_tiles drops the halo where both would not
// fit; the sums alone fit up to 3,072 taps in float, 1,536 in double).
inline int64_t deform_backward_shared_bytes(const DeformGeometry& g, const DeformTiles& t, int64_t element_bytes) {
  return (t.halo_cells() + g.taps()) * kBackwardChannels * element_bytes;
}

// The input pixel at the upper-left of tile (ty, tx)'s halo.
DMDLK_HD void deform_halo_origin(const DeformGeometry& g, int64_t ty, int64_t tx, int64_t* row0, int64_t* col0) {
  *row0 = ty * kDeformTile * g.stride_h - g.pad_h - kHaloMargin;
  *col0 = tx * kDeformTile * g.stride_w - g.pad_w - kHaloMargin;
}

// The halo cell of input pixel (y, x), or −1 where it lies outside the halo.
// 32-bit: a corner lies within 3 of the image, the halo is small.
DMDLK_HD int32_t deform_halo_cell(const DeformTiles& t, int64_t row0, int64_t col0, int32_t y, int32_t x) {
  int32_t r = y - int32_t(row0), c = x - int32_t(col0), rows = int32_t(t.halo_rows), cols = int32_t(t.halo_cols);
  return r >= 0 && r < rows && c >= 0 && c < cols ? r * cols + c : -1;
}

// The image pixel (index into a plane) of halo cell `cell`, or −1 where the cell lies outside the image.
DMDLK_HD int64_t deform_halo_pixel(const DeformGeometry& g, const DeformTiles& t, int64_t row0, int64_t col0,
                                   int64_t cell) {
  int64_t r = int32_t(cell) / int32_t(t.halo_cols), y = row0 + r, x = col0 + cell - r * t.halo_cols;  // halos are small
  return y >= 0 && y < g.height && x >= 0 && x < g.width ? y * g.width + x : -1;
}

// The sample of tap t = i · kernel_w + j at output pixel (oy, ox): offset
// points at the image's. The callers step (i, j) along with t: no division.
template <typename T>
DMDLK_HD DeformSample<T> deform_tap_sample(const DeformGeometry& g, const T* offset, int64_t t, int64_t i, int64_t j,
                                           int64_t oy, int64_t ox) {
  const T* off = offset + 2 * t * g.pixels() + oy * g.out_w + ox;
  return make_deform_sample(g, T(oy * g.stride_h - g.pad_h + i * g.dilation_h) + off[0],
                            T(ox * g.stride_w - g.pad_w + j * g.dilation_w) + off[g.pixels()]);
}

// Steps tap (i, j) to the next one in row-major order.
DMDLK_HD void deform_next_tap(const DeformGeometry& g, int64_t* i, int64_t* j) {
  if (++*j == g.kernel_w) *j = 0, ++*i;
}

// The four corners of a sample in a run of consecutive planes (an image's
// channels): read the current plane's, then step to the next plane, so that
// a corner costs a load and an add per channel, not its index math again.
// A corner outside the image reads `zero` (a 0 of the caller's, which its
// step leaves in place) rather than pixel 0 times a zero weight, so that an
// infinite pixel elsewhere stays out of the sums; no select per read.
template <typename T>
struct DeformCorners {
  const T* at[4];
  int64_t step[4];
  DMDLK_HD DeformCorners(const DeformSample<T>& s, const T* first, int64_t plane, const T* zero) {
    DMDLK_UNROLL
    for (int q = 0; q < 4; ++q) {
      at[q] = s.corner_inside(q) ? first + s.index[q] : zero, step[q] = s.corner_inside(q) ? plane : 0;
    }
  }
  DMDLK_HD void read(T v[4]) {
    DMDLK_UNROLL
    for (int q = 0; q < 4; ++q) v[q] = *at[q], at[q] += step[q];
  }
};

// The forward of output pixel p of one image over channels [c0, c1) (at most
// kForwardChannels): x, offset, y point at the image's; zero at a 0.
template <typename T>
DMDLK_HD void deform_forward_pixel(const DeformGeometry& g, int64_t p, int64_t c0, int64_t c1, const T* x,
                                   const T* offset, const T* weight, T* y, const T* zero) {
  int64_t oy = uint32_t(p) / uint32_t(g.out_w), ox = p - oy * g.out_w, plane = g.height * g.width;  // within a plane
  T sum[kForwardChannels] = {};
  for (int64_t t = 0, i = 0, j = 0; t < g.taps(); ++t, deform_next_tap(g, &i, &j)) {
    DeformSample<T> s = deform_tap_sample(g, offset, t, i, j, oy, ox);
    DeformCorners<T> corners(s, x + c0 * plane, plane, zero);
    const T* w = weight + c0 * g.taps() + t;
    DMDLK_UNROLL
    for (int k = 0; k < kForwardChannels; ++k) {
      if (c0 + k >= c1) break;
      T v[4];
      corners.read(v);
      sum[k] += w[k * g.taps()] * deform_dot(s.value, v);
    }
  }
  DMDLK_UNROLL
  for (int k = 0; k < kForwardChannels; ++k)
    if (c0 + k < c1) y[(c0 + k) * g.pixels() + p] = sum[k];
}

// The backward of one thread's output pixel (oy, ox) of one image over
// channels [c0, c1) (at most kBackwardChannels): x, offset, dy point at the
// image's; zero at a 0. An inactive thread (past the image's edge) takes part with zeros,
// so that `sink`'s collective dweight sums see every thread of a warp. What
// it produces goes to the sink:
//   halo_add(k, cell, v)   dx of channel c0 + k at a halo cell
//   dx_add(c · plane + pixel, v)   dx beyond the halo
//   dweight_add(k, t, v)   dweight of channel c0 + k, tap t (every thread calls it alike)
//   doffset_add(i, v)      doffset of the image at i (its [2·taps, Ho·Wo] layout)
// A corner with no weight adds 0 to its halo cell rather than branch; one
// beyond the halo is skipped then.
template <typename T, typename Sink>
DMDLK_HD void deform_backward_pixel(const DeformGeometry& g, const DeformTiles& tiles, int64_t row0, int64_t col0,
                                    int64_t oy, int64_t ox, bool active, int64_t c0, int64_t c1, const T* x,
                                    const T* offset, const T* weight, const T* dy, const T* zero, Sink& sink) {
  int64_t p = oy * g.out_w + ox, plane = g.height * g.width;
  T d[kBackwardChannels];
  DMDLK_UNROLL
  for (int k = 0; k < kBackwardChannels; ++k) d[k] = active && c0 + k < c1 ? dy[(c0 + k) * g.pixels() + p] : T(0);
  for (int64_t t = 0, i = 0, j = 0; t < g.taps(); ++t, deform_next_tap(g, &i, &j)) {
    DeformSample<T> s = active ? deform_tap_sample(g, offset, t, i, j, oy, ox) : DeformSample<T>{};
    DeformCorners<T> corners(s, x + c0 * plane, plane, zero);
    const T* w = weight + c0 * g.taps() + t;
    int32_t cell[4];
    bool in_halo = true;
    DMDLK_UNROLL
    for (int q = 0; q < 4; ++q) {
      cell[q] = deform_halo_cell(tiles, row0, col0, s.y0 + q / 2, s.x0 + q % 2);
      in_halo = in_halo && cell[q] >= 0;
    }
    T sum_y = 0, sum_x = 0;
    DMDLK_UNROLL
    for (int k = 0; k < kBackwardChannels; ++k) {
      if (c0 + k >= c1) break;
      T v[4];
      corners.read(v);
      T grad = w[k * g.taps()] * d[k];
      sum_y += grad * deform_dot(s.grad_y, v);
      sum_x += grad * deform_dot(s.grad_x, v);
      if (in_halo) {
        DMDLK_UNROLL
        for (int q = 0; q < 4; ++q) sink.halo_add(k, cell[q], s.value[q] * grad);
      } else {
        DMDLK_UNROLL
        for (int q = 0; q < 4; ++q) {
          if (cell[q] >= 0) sink.halo_add(k, cell[q], s.value[q] * grad);
          else if (s.value[q] != T(0)) sink.dx_add((c0 + k) * plane + s.index[q], s.value[q] * grad);
        }
      }
      sink.dweight_add(k, t, d[k] * deform_dot(s.value, v));
    }
    if (active) {
      sink.doffset_add(2 * t * g.pixels() + p, sum_y);
      sink.doffset_add((2 * t + 1) * g.pixels() + p, sum_x);
    }
  }
}

// ---- launch plans ------------------------------------------------------------

// PTX instructions a thread issues per sample (a tap of a pixel, per chunk
// of channels: the point, its corners, their halo cells) and per channel of
// a sample (the corner loads, sums, the scatter into the halo, the warp's
// dweight sum), counted in the tap loops of the sm_90 float kernels
// (build/ptx/deform_depthwise.ptx, built at two chunk sizes to tell the two
// apart; the backward's path for samples beyond the halo not counted).
constexpr double kForwardIssuePerSample = 128, kForwardIssuePerChannel = 17;
constexpr double kBackwardIssuePerSample = 225, kBackwardIssuePerChannel = 73;

inline cuda::LaunchPlan plan_deform_depthwise_forward(const DeformGeometry& g, int64_t batch, int64_t element_bytes) {
  int64_t chunk = deform_forward_chunk(g, batch), chunks = (g.channels + chunk - 1) / chunk;
  double pixels = double(batch) * g.pixels(), samples = pixels * g.taps() * chunks;
  double channel_samples = pixels * g.taps() * g.channels;
  cuda::LaunchPlan p;
  p.kernel = "deform_depthwise_forward";
  p.grid = {cuda::blocks_to_cover(g.pixels(), kDeformThreads), batch, chunks};
  p.block.x = kDeformThreads;
  p.registers = 114;  // ptxas -v, sm_90, float
  // Unique bytes: x (its samples' corners overlap: caches serve the rest), y, the offsets.
  p.bytes = (pixels * g.channels * 2 + pixels * g.taps() * 2) * element_bytes;
  p.flops = channel_samples * 10;
  p.issue_slots = (samples * kForwardIssuePerSample + channel_samples * kForwardIssuePerChannel) / 32;
  p.access = cuda::MemoryAccess::Gather;
  return p;
}

inline cuda::LaunchPlan plan_deform_depthwise_backward(const DeformGeometry& g, int64_t batch, int64_t element_bytes) {
  DeformTiles t = deform_tiles(g, batch, element_bytes);
  int64_t chunks = (g.channels + kBackwardChannels - 1) / kBackwardChannels;
  double pixels = double(batch) * g.pixels(), samples = pixels * g.taps() * chunks;
  double channel_samples = pixels * g.taps() * g.channels;
  cuda::LaunchPlan p;
  p.kernel = "deform_depthwise_backward";
  p.grid = {t.tiles(), batch, t.groups};
  p.block.x = kDeformTile * kDeformTile;
  p.registers = 78;  // ptxas -v, sm_90, float
  p.shared_bytes = p.dynamic_shared_bytes = deform_backward_shared_bytes(g, t, element_bytes);
  // Unique bytes (LaunchPlan::bytes): x, dy, dx, the offsets and doffset
  // once. The offsets' re-reads and doffset's additions once per chunk of
  // channels, and the halos' additions to dx, stay in L2 (a block's offsets:
  // 256 pixels × 2·taps values): about 2 GB for 4 × 32 × 224² at 7×7, a
  // fraction of a millisecond at the L2's bandwidth, under the issue bound.
  p.bytes = (pixels * g.channels * 3 + pixels * g.taps() * 4) * element_bytes;
  p.flops = channel_samples * 40;  // three 4-corner sums, the scatter's weights, dweight's warp sum
  p.issue_slots = (samples * kBackwardIssuePerSample + channel_samples * kBackwardIssuePerChannel) / 32;
  p.access = cuda::MemoryAccess::Gather;
  return p;
}

}  // namespace dmdlk::cuda_ops
