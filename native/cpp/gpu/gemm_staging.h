// How a block of the tiled GEMM (tiled_gemm.cuh) stages its operands: which
// elements of each bk-deep slice each thread loads, and the index work that
// stays out of the K loop. Host and device alike, so test_gemm_operands runs
// a block's staging on the CPU, slice by slice, against the operands'
// elements.
//
// A thread loads the same positions of every slice. Walking an operand along
// k (neighbouring threads, neighbouring k), a thread keeps one depth p and
// loads several lines; walking it along its lines, a thread keeps one line
// and loads several depths. Either way its lines' parts (Operand::Line) are
// decomposed once, before the K loop, and each k's part (Operand::Depth)
// once per block, by one thread, into a table in shared memory: a load in the
// loop is a table read, a few additions and its bounds checks.
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace dmdlk::cuda_ops {

// A block's tile: `Threads` threads compute BM×BN of C in BK-deep slices.
// MinBlocks: blocks an SM must hold at once (__launch_bounds__), which caps
// the registers a thread may take.
template <int BM, int BN, int BK, int Threads, int MinBlocks>
struct Tile {
  static constexpr int kBm = BM, kBn = BN, kBk = BK, kThreads = Threads, kMinBlocks = MinBlocks;
  static_assert(Threads % BM == 0 && Threads % BN == 0 && Threads % BK == 0,
                "every thread keeps one line or one depth of each operand's slice");
  static_assert(Threads >= 2 * BK, "a thread per depth of each operand fills the depth tables");
};

// The seven tiles of the kernels (gpu/gemm.h's TileShape constants are
// these): CUDA cores, then tensor cores, large to tiny, and the tensor cores'
// 32×64 for products of 32 rows (convolutions' input gradients of 32
// channels, which the 64×64 tile pads by half).
enum class GemmKernel { SimtLarge, SimtSmall, SimtTiny, WmmaLarge, WmmaSmall, WmmaTiny, WmmaWide };
using SimtLargeTile = Tile<128, 128, 8, 256, 1>;
using SimtSmallTile = Tile<64, 64, 16, 256, 2>;
using SimtTinyTile = Tile<32, 32, 16, 128, 4>;
using WmmaLargeTile = Tile<128, 128, 16, 256, 1>;
using WmmaSmallTile = Tile<64, 64, 16, 128, 2>;
using WmmaTinyTile = Tile<32, 32, 16, 128, 4>;
using WmmaWideTile = Tile<32, 64, 16, 128, 4>;

// A SIMT thread's TM×TN patch of C within its block's BM×BN tile: rows
// first_row … first_row + TM − 1 and columns first_col … first_col + TN − 1,
// neighbouring, so that the kernel reads each k's TM values of A and TN of B
// from shared memory as 16-byte words and stores the same rows and columns
// (test_gemm_operands: the patches cover the tile once).
template <class Tile, int TM, int TN>
struct SimtPatch {
  static constexpr int kTm = TM, kTn = TN, kColThreads = Tile::kBn / TN;
  static_assert((Tile::kBm / TM) * kColThreads == Tile::kThreads, "one patch per thread");
  int first_row, first_col;
  DMDLK_HD explicit SimtPatch(int thread)
      : first_row(thread / kColThreads * TM), first_col(thread % kColThreads * TN) {}
};
using SimtLargePatch = SimtPatch<SimtLargeTile, 8, 8>;
using SimtSmallPatch = SimtPatch<SimtSmallTile, 4, 4>;
using SimtTinyPatch = SimtPatch<SimtTinyTile, 4, 2>;

// The positions of `Lines` × `Depth` slice elements that `thread` loads:
// element l is (line(l), depth(l)), the same every slice.
template <int Lines, int Depth, int Threads>
struct SliceSlots {
  static constexpr int kLoads = Lines * Depth / Threads;
  int line0, line_step, depth0, depth_step;
  DMDLK_HD SliceSlots(int thread, bool along_k) {
    if (along_k) line0 = thread / Depth, line_step = Threads / Depth, depth0 = thread % Depth, depth_step = 0;
    else line0 = thread % Lines, line_step = 0, depth0 = thread / Lines, depth_step = Threads / Lines;
  }
  DMDLK_HD int line(int l) const { return line0 + l * line_step; }
  DMDLK_HD int depth(int l) const { return depth0 + l * depth_step; }
};

// One thread's loads of an operand whose tile starts at line `first` of
// `count` (rows of A from row0, columns of B from col0) in batch item `batch`.
template <class Operand, int Lines, int Depth, int Threads>
struct OperandStager {
  using Value = typename Operand::Value;
  using Slots = SliceSlots<Lines, Depth, Threads>;
  static constexpr int kLoads = Slots::kLoads;
  static_assert(kLoads <= 32, "one bit per load in `inside`");
  Slots slots;
  typename Operand::Line lines[kLoads];
  uint32_t inside = 0;  // bit l: line(l) lies inside the operand

  DMDLK_HD OperandStager(const Operand& op, int thread, int64_t batch, int64_t first, int64_t count)
      : slots(thread, op.along_k()) {
    DMDLK_UNROLL
    for (int l = 0; l < kLoads; ++l) {
      int64_t line = first + slots.line(l);
      inside |= uint32_t(line < count) << l;
      lines[l] = op.line(batch, line < count ? line : first);
    }
  }
  // Element l of the slice that starts at k0, from its depth table; 0 past
  // the operand's lines or past `k_end`.
  DMDLK_HD Value load(const Operand& op, int l, const typename Operand::Depth* depths, int64_t k0,
                      int64_t k_end) const {
    int p = slots.depth(l);
    return (inside >> l & 1u) && k0 + p < k_end ? op.load(lines[l], depths[p]) : Value(0);
  }
};

// Entry p of the depth table of the slice at k0 (entries past `k_end` are
// never read, and left alone).
template <class Operand>
DMDLK_HD void tabulate_depth(const Operand& op, typename Operand::Depth* depths, int p, int64_t k0, int64_t k_end) {
  if (k0 + p < k_end) depths[p] = op.depth(k0 + p);
}

}  // namespace dmdlk::cuda_ops
