// CUDA's matrix products and their launch plans. One tiled kernel
// (tiled_gemm.cuh) serves every product of the network: dense GEMMs
// (gemm.cu: linear, matmul, the general deformable convolution), the
// convolutions without column buffers (conv2d.cu) and attention
// (attention.cu); each passes its operands and its epilogue as functors
// (gemm_operands.h). Float products run on tensor cores (WMMA, inputs rounded
// to TF32 or BF16, float32 accumulation) unless the matmul precision is
// "highest" or the GPU predates them; float64 and "highest" on the CUDA cores.
//
// A block computes one tile of C for one batch item and one slice of K
// ("split-K"): where the tiles alone would not fill the GPU, or K is so deep
// that one thread would sum more than kMaxSplitDepth products, K is split,
// each split writes its partial tile to a workspace, and the last split of
// each tile to arrive adds them (deterministically, in split order) and
// applies the epilogue, in the same launch. So no block walks all of a
// weight gradient's N·H·W alone.
#pragma once
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/host_device.h"
#include "core/matmul_precision.h"
#include "gpu/gemm_operands.h"
#include "gpu/gemm_staging.h"
#include "gpu/launch_plan.h"
#include "gpu/time_model.h"
#include "ops/gemm.h"

namespace dmdlk::cuda_ops {

// The sizes of one tiled product: batch items of op(A) m×k times op(B) k×n,
// K cut into `splits` slices of k_per_split (the last may be shorter).
struct GemmDims {
  int64_t m = 0, n = 0, k = 0, batch = 1;
  int64_t splits = 1, k_per_split = 0;
};

// The part [begin, end) of K that split `split` sums; test_gemm_operands
// checks that the splits cover K once, none empty.
struct KRange {
  int64_t begin, end;
};
DMDLK_HD KRange split_k_range(const GemmDims& d, int64_t split) {
  int64_t begin = split * d.k_per_split;
  return {begin, begin + d.k_per_split < d.k ? begin + d.k_per_split : d.k};
}

// A split product's tile is summed in two levels (tiled_gemm.cuh,
// finish_split_tile): the last split of each group of kSplitGroup to arrive
// adds its group's partials, and the last group the groups' sums, so no
// thread sums more than kSplitGroup, then as many groups, per element (196
// splits: 16 then 13, not 196). Each tile counts its groups' arrivals and,
// where there are several groups, theirs: split_counters_per_tile counters.
constexpr int64_t kSplitGroup = 16;
DMDLK_HD int64_t split_groups(int64_t splits) { return (splits + kSplitGroup - 1) / kSplitGroup; }
DMDLK_HD int64_t split_counters_per_tile(int64_t splits) {
  return split_groups(splits) == 1 ? 1 : split_groups(splits) + 1;
}

// The first arrival counter of tile (tile_row, tile_col) of batch item
// `batch`, in a grid of tiles_y × tiles_x tiles: each (tile, item) its own
// split_counters_per_tile, in [0, tiles_y · tiles_x · batches · per_tile)
// (test_gemm_operands).
DMDLK_HD int64_t split_tile_counter(int64_t batch, int64_t tile_row, int64_t tile_col, int64_t tiles_y, int64_t tiles_x,
                                    int64_t per_tile) {
  return ((batch * tiles_y + tile_row) * tiles_x + tile_col) * per_tile;
}

// The kernels' tile shapes (GemmKernel, gemm_staging.h): a block of
// `threads` computes bm×bn of C, staging bk-deep slices of A and B in shared memory.

struct GemmTiling {
  GemmKernel kernel = GemmKernel::SimtSmall;
  int64_t bm = 64, bn = 64, bk = 16, threads = 256;
  cuda::MathUnit unit = cuda::MathUnit::Fp32;
  int64_t splits = 1, k_per_split = 0;
};

// CUDA cores: 128×128 tiles, 8-deep slices, 256 threads of 8×8 each; 64×64,
// 16-deep, 256 threads of 4×4; or 32×32, 16-deep, 128 threads of 4×2, for
// products too small to fill the GPU with a larger tile. Tensor cores:
// 128×128 with 8 warps of 64×32 (4×2 WMMA fragments of 16×16), 64×64 with 4
// warps of 32×32, or 32×32 with 4 warps of one fragment; 16-deep slices.
struct TileShape {
  int64_t bm, bn, bk, threads;
};
template <class Tile>
constexpr TileShape shape_of() {
  return {Tile::kBm, Tile::kBn, Tile::kBk, Tile::kThreads};
}
constexpr TileShape kSimtLarge = shape_of<SimtLargeTile>(), kSimtSmall = shape_of<SimtSmallTile>(),
                    kSimtTiny = shape_of<SimtTinyTile>();
constexpr TileShape kWmmaLarge = shape_of<WmmaLargeTile>(), kWmmaSmall = shape_of<WmmaSmallTile>(),
                    kWmmaTiny = shape_of<WmmaTinyTile>(), kWmmaWide = shape_of<WmmaWideTile>();

// Blocks that fill an H200 twice over (test_launch_plans' rule), and the
// deepest K one thread may sum alone.
constexpr int64_t kFillBlocks = 2 * 132, kMaxSplitDepth = 4096;

// The fraction of the CUDA cores' fp32 peak the tiled SIMT kernel reaches on
// a product that fills the GPU: an assumption until a GPU measures it (a
// 128×128×8 tile with 8×8 per thread and register prefetch reaches 0.6–0.8 of
// the peak in published SGEMMs; ours also gathers convolution operands).
// Tensor-core tiles use the time model's default (KernelEfficiency).
constexpr double kTiledSimtEfficiency = 0.45;

inline int64_t ceil_div(int64_t a, int64_t b) { return b <= 0 ? 0 : (a + b - 1) / b; }

inline bool is_wmma(GemmKernel kernel) {
  return kernel == GemmKernel::WmmaLarge || kernel == GemmKernel::WmmaSmall || kernel == GemmKernel::WmmaTiny ||
         kernel == GemmKernel::WmmaWide;
}

inline GemmTiling tiling_of(GemmKernel kernel, cuda::MathUnit unit) {
  TileShape s = kernel == GemmKernel::SimtLarge   ? kSimtLarge
                : kernel == GemmKernel::SimtSmall ? kSimtSmall
                : kernel == GemmKernel::SimtTiny  ? kSimtTiny
                : kernel == GemmKernel::WmmaLarge ? kWmmaLarge
                : kernel == GemmKernel::WmmaSmall ? kWmmaSmall
                : kernel == GemmKernel::WmmaTiny  ? kWmmaTiny
                                                  : kWmmaWide;
  GemmTiling t;
  t.kernel = kernel, t.bm = s.bm, t.bn = s.bn, t.bk = s.bk, t.threads = s.threads, t.unit = unit;
  return t;
}

inline const char* unit_suffix(cuda::MathUnit unit) {
  switch (unit) {
    case cuda::MathUnit::Fp64: return "f64";
    case cuda::MathUnit::Tf32: return "tf32";
    case cuda::MathUnit::Bf16: return "bf16";
    case cuda::MathUnit::Fp32: return "f32";
  }
  return "";  // not reached: the switch names every unit (-Werror=switch)
}

// Registers a thread of each kernel takes, as `nvcc -arch=sm_90 -Xptxas -v`
// (CUDA 13.0) reports them for tiled_gemm.cuh's kernels (the most over their
// operand kinds, float and, for SimtSmall, double): they bound how many blocks
// an SM holds, which the time model counts.
inline int64_t gemm_registers(const GemmTiling& t) {
  switch (t.kernel) {
    case GemmKernel::SimtLarge: return 194;
    case GemmKernel::SimtSmall: return 128;
    case GemmKernel::SimtTiny: return 128;
    case GemmKernel::WmmaLarge: return 255;
    case GemmKernel::WmmaSmall: return 232;
    case GemmKernel::WmmaTiny: return 126;
    case GemmKernel::WmmaWide: return 124;
  }
  return 255;
}

// Shared memory of a block, as tiled_gemm.cuh declares it: the staged
// slices, the WMMA kernel's scratch tiles, and two depth tables per operand
// (gemm_staging.h; at most 16 bytes an entry).
inline int64_t gemm_shared_bytes(const GemmTiling& t, int64_t element_bytes) {
  const int64_t depth_tables = 2 * 2 * t.bk * 16;
  if (!is_wmma(t.kernel)) return t.bk * (t.bm + 4) * element_bytes + t.bk * (t.bn + 4) * element_bytes + depth_tables;
  int64_t stored = t.unit == cuda::MathUnit::Bf16 ? 2 : 4, pad = 16 / stored;
  return t.bm * (t.bk + pad) * stored + t.bk * (t.bn + pad) * stored + (t.threads / 32) * 16 * 20 * 4 + depth_tables;
}

// Issue slots a warp of `t`'s kernel spends per K step on product `what`'s
// operands (gemm_issue.cpp, from the committed PTX counts of
// gemm_issue_table.h); 0 where the table has no such kernel.
int gemm_issue_per_step(const GemmTiling& t, const std::string& what);

// The tiled kernel's launch. `bytes`: what the product reads and writes
// (its operands' and result's unique bytes), the workspace added here.
inline cuda::LaunchPlan plan_tiled_gemm(const std::string& what, const GemmDims& d, const GemmTiling& t, double bytes,
                                        int64_t element_bytes, bool named = true) {
  bool wmma = is_wmma(t.kernel);
  cuda::LaunchPlan p;
  if (named)
    p.kernel = what + (wmma ? "_wmma_" : "_simt_") + std::to_string(t.bm) + "x" + std::to_string(t.bn) + "<" +
               unit_suffix(t.unit) + ">";
  p.grid = {ceil_div(d.n, t.bn), ceil_div(d.m, t.bm), d.batch * d.splits};
  p.block.x = t.threads;
  p.shared_bytes = gemm_shared_bytes(t, element_bytes);
  p.registers = gemm_registers(t);
  // Split: each split's partial tile written and read back by its group's
  // last split, and, with several groups, the groups' sums written and read.
  const int64_t groups = split_groups(d.splits), summed = d.splits + (groups > 1 ? groups : 0);
  p.bytes = bytes + (d.splits > 1 ? 2.0 * double(summed * d.batch * d.m * d.n) * element_bytes : 0);
  p.flops = 2.0 * double(d.batch) * double(p.grid.y * t.bm) * double(p.grid.x * t.bn) * double(d.k);
  p.unit = t.unit;
  // A split's K, or the finishing blocks' sums of their tile's elements
  // (those inside C): a group's splits, then the groups.
  const int64_t per_thread = ceil_div(std::min(t.bm, d.m) * std::min(t.bn, d.n), t.threads);
  const int64_t finish = std::min(d.splits, kSplitGroup) + (groups > 1 ? groups : 0);
  p.serial_reduction = std::max<int64_t>({1, std::min(d.k, d.k_per_split), d.splits > 1 ? finish * per_thread : 0});
  // Every (tile, batch item) walks all of K's steps, across its splits.
  p.issue_slots = double(p.grid.x * p.grid.y * d.batch) * double(ceil_div(d.k, t.bk)) * double(t.threads / 32) *
                  gemm_issue_per_step(t, what);
  // A block's slices, fetched one ahead of the multiply (tiled_gemm.cuh's k_loop), and the first fetch.
  p.dependent_loads = ceil_div(d.k_per_split > 0 ? std::min(d.k, d.k_per_split) : d.k, t.bk) + 1;
  if (!wmma && t.unit == cuda::MathUnit::Fp32) p.compute_efficiency = kTiledSimtEfficiency;
  return p;
}

inline GemmDims gemm_dims(int64_t m, int64_t n, int64_t k, int64_t batch, const GemmTiling& t) {
  return {m, n, k, batch, t.splits, t.k_per_split};
}

// The tiles a product may take. Every tile is a kernel instantiated for the
// product's operands and epilogue, GPU code in every binary, so products
// whose shapes never want some tiles leave them out: attention's N×N score
// products (windows of 49 tokens; the 28×28 global attention's 784) take the
// 64×64 SIMT tile, the 32×32 ones and no 128×128 or 64×64 tensor-core tile;
// only convolutions' input gradients (M = a group's input channels, 32 in
// the network's widest layers) take the 32×64 tensor-core tile as well.
enum class GemmTileSet { All, NoLarge, AllAndWide };
constexpr bool tile_allowed(GemmTileSet set, GemmKernel kernel) {
  if (kernel == GemmKernel::WmmaWide) return set == GemmTileSet::AllAndWide;
  return set != GemmTileSet::NoLarge || kernel == GemmKernel::SimtSmall || kernel == GemmKernel::SimtTiny ||
         kernel == GemmKernel::WmmaTiny;
}

// A product to tile: `what` names its operands (gemm_issue_per_step), then
// its sizes (`batch` items of m×k by k×n) and the bytes it moves.
struct GemmProblem {
  std::string what;
  int64_t m = 0, n = 0, k = 0, batch = 1;
  double bytes = 0;
};

// The tiles and split of K for `problem`: of the unit's tiles `allowed` and the
// splits of K that keep every thread's sum within kMaxSplitDepth and every
// split at least two slices deep, the one the time model (time_model.h) finds
// fastest on an H200 — memory, tensor or FMA work and the instructions its
// operands' gathers issue (gemm_issue_table.h), the split sum included —
// among those whose launches keep test_launch_plans' rules where any do. So a
// 98-row weight gradient takes 128×128 tiles, which gather each operand once
// per 128 rows, rather than the 32×32 tiles that pad it least. Float64
// products (gradient checks and parity tests, where speed does not matter)
// take the 64×64 SIMT tile only: one kernel per product, not three.
inline GemmTiling choose_gemm_tiling(const GemmProblem& problem, int64_t element_bytes, MatmulPrecision precision,
                                     bool tensor_cores, GemmTileSet allowed = GemmTileSet::All) {
  const int64_t k = problem.k;
  bool wmma = element_bytes == 4 && precision != MatmulPrecision::Highest && tensor_cores;
  cuda::MathUnit unit = !wmma ? (element_bytes == 8 ? cuda::MathUnit::Fp64 : cuda::MathUnit::Fp32)
                        : precision == MatmulPrecision::Medium ? cuda::MathUnit::Bf16
                                                               : cuda::MathUnit::Tf32;
  // Whole slices per split, rounded up: the last split is never a few
  // elements (rounded down, K = 27 in 16-deep slices took two splits and a
  // workspace; K = 4802 took three).
  auto cut = [&](GemmTiling g, int64_t splits) {
    g.k_per_split = std::max<int64_t>(g.bk, ceil_div(ceil_div(k, splits), g.bk) * g.bk);
    g.splits = std::max<int64_t>(1, ceil_div(k, g.k_per_split));
    return g;
  };
  // Whether g's launches all keep the rules of test_launch_plans (fill the
  // GPU or be short: the model does not see how well few blocks hide
  // latency), and their modelled time on the GPU, as a graph replays them.
  struct Cost {
    bool keeps_rules = true;
    double seconds = 0;
    bool better_than(const Cost& other) const {
      return keeps_rules != other.keeps_rules ? keeps_rules : seconds < other.seconds;
    }
  };
  auto cost = [&](const GemmTiling& g) {
    GemmDims d{problem.m, problem.n, k, problem.batch, g.splits, g.k_per_split};
    std::vector<cuda::LaunchPlan> plans{plan_tiled_gemm(problem.what, d, g, problem.bytes, element_bytes, false)};
    Cost c;
    c.keeps_rules = cuda::broken_rules(plans[0]).empty();
    c.seconds = cuda::model_sequence(plans, true);
    return c;
  };
  std::vector<GemmKernel> kernels{GemmKernel::SimtSmall};
  if (element_bytes != 8)
    kernels = wmma ? std::vector<GemmKernel>{GemmKernel::WmmaLarge, GemmKernel::WmmaSmall, GemmKernel::WmmaTiny,
                                             GemmKernel::WmmaWide}
                   : std::vector<GemmKernel>{GemmKernel::SimtLarge, GemmKernel::SimtSmall, GemmKernel::SimtTiny};
  // The fastest of those that keep the rules, or of all where none does.
  GemmTiling best;
  Cost best_cost;
  bool first = true;
  for (GemmKernel kernel : kernels) {
    if (!tile_allowed(allowed, kernel)) continue;
    GemmTiling t = tiling_of(kernel, unit);
    int64_t tiles = ceil_div(problem.m, t.bm) * ceil_div(problem.n, t.bn) * problem.batch;
    for (int64_t splits = std::max<int64_t>(1, ceil_div(k, kMaxSplitDepth));; splits *= 2) {
      GemmTiling g = cut(t, splits);
      Cost c = cost(g);
      if (first || c.better_than(best_cost)) best = g, best_cost = c, first = false;
      // Deeper splits while each keeps two slices, and no further than 4× the blocks that fill the GPU.
      if (ceil_div(k, splits * 2) < 2 * t.bk || tiles * g.splits >= 4 * kFillBlocks) break;
    }
  }
  return best;
}

// ---- dense products (gemm.cu): the contract of ops/gemm.h -------------------------

template <typename T>
void gemm(int device, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c);
// ops/gemm.h's gemm_bias_columns: the bias added in the product's epilogue, one launch.
template <typename T>
void gemm_bias_columns(int device, const GemmShape& s, const T* a, const T* b, const T* col_bias, T* c);

// Any product of dense operands into a dense C, tiled as `t` (gemm.cu builds
// these kernels once for every caller: gemm() above and attention's products).
template <typename T>
void dense_product(int device, const std::string& what, const GemmDims& d, const GemmTiling& t, double bytes,
                   const DenseA<T>& a, const DenseB<T>& b, const DenseStore<T>& out);

inline double dense_gemm_bytes(const GemmShape& s, int64_t element_bytes, bool accumulate) {
  double a = s.stride_a ? double(s.batch) * s.m * s.k : double(s.m) * s.k;
  double b = s.stride_b ? double(s.batch) * s.k * s.n : double(s.k) * s.n;
  return (a + b + double(s.batch) * s.m * s.n * (accumulate ? 2 : 1)) * double(element_bytes);
}

inline GemmTiling dense_gemm_tiling(const GemmShape& s, int64_t element_bytes, MatmulPrecision precision,
                                    bool tensor_cores) {
  return choose_gemm_tiling({"gemm", s.m, s.n, s.k, s.batch, dense_gemm_bytes(s, element_bytes, false)}, element_bytes,
                            precision, tensor_cores);
}

// What gemm() launches for `s` at `precision` on a GPU with (or without) tensor cores.
inline std::vector<cuda::LaunchPlan> plan_gemm(const GemmShape& s, int64_t element_bytes, MatmulPrecision precision,
                                               bool tensor_cores, bool accumulate) {
  if (s.m == 0 || s.n == 0 || s.batch == 0) return {};
  GemmTiling t = dense_gemm_tiling(s, element_bytes, precision, tensor_cores);
  return {plan_tiled_gemm("gemm", gemm_dims(s.m, s.n, s.k, s.batch, t), t,
                          dense_gemm_bytes(s, element_bytes, accumulate), element_bytes)};
}

// The launches gemm() makes at the process's matmul precision on a GPU with
// tensor cores (what the plans are checked for: an H200).
inline std::vector<cuda::LaunchPlan> plan_device_gemm(const GemmShape& s, int64_t element_bytes, bool accumulate) {
  return plan_gemm(s, element_bytes, matmul_precision(), true, accumulate);
}

}  // namespace dmdlk::cuda_ops
