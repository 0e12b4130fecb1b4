// The tiled GEMM kernels (nvcc only; their plans are in gpu/gemm.h) and the
// host function that launches one product with them.
//
// Both kernels walk their K slice in bk-deep steps (k_loop): the next step's
// depth tables are filled and its elements of A and B fetched into registers
// (gemm_staging.h: no index division in the loop) while the current step,
// staged in shared memory, is multiplied. The SIMT kernel gives each thread
// an 8×8 (4×4, 4×2) patch of C in registers, of neighbouring rows and
// columns, so that it reads each k's row and column values as 16-byte words
// (load_neighbours): a quarter of the shared-memory loads to issue. The WMMA kernel gives each warp a 64×32 (or 32×32)
// patch of 16×16 fragments; slices are stored already rounded to TF32 or BF16, and each finished fragment goes through
// a per-warp scratch tile to the epilogue, which writes neighbouring columns from neighbouring lanes.
#pragma once
#include <cuda_bf16.h>
#include <mma.h>

#include <type_traits>

#include "core/tensor.h"
#include "cuda/arrivals.cuh"
#include "cuda_check.cuh"
#include "gpu/gemm.h"
#include "gpu/gemm_operands.h"
#include "gpu/gemm_staging.h"

namespace dmdlk::cuda_ops {

namespace tiled {

// The tiles (gemm_staging.h): each one's MinBlocks caps the registers a
// thread may take (65536 / (MinBlocks · Threads)) at as many as ptxas reaches
// without spilling (sm_90, CUDA 13.0; gpu/gemm.h's gemm_registers lists what
// each then takes).

// This block's batch item and split, and the K range the split sums (a
// 32-bit division: blockIdx.z and the splits are grid extents, below 65536).
struct SplitRange {
  int64_t batch, split, begin, end;
  __device__ SplitRange(const GemmDims& d) {
    const uint32_t z = blockIdx.z, splits = uint32_t(d.splits);
    batch = z / splits, split = z % splits;
    KRange k = split_k_range(d, split);
    begin = k.begin, end = k.end;
  }
};

// One thread's staging of both operands (gemm_staging.h), its registers for
// the slice in flight, and the block's depth tables (double-buffered: the
// next slice's are written while the current slice's may still be read).
template <class Shape, class A, class B>
struct SliceFetcher {
  static constexpr int BK = Shape::kBk;
  using StagerA = OperandStager<A, Shape::kBm, BK, Shape::kThreads>;
  using StagerB = OperandStager<B, Shape::kBn, BK, Shape::kThreads>;
  struct Tables {
    typename A::Depth a[2][BK];
    typename B::Depth b[2][BK];
  };
  const A& a;
  const B& b;
  Tables& tables;
  const int64_t k_end;
  const StagerA sa;
  const StagerB sb;
  typename A::Value ra[StagerA::kLoads];
  typename B::Value rb[StagerB::kLoads];

  __device__ SliceFetcher(const A& a, const B& b, Tables& tables, const SplitRange& range, const GemmDims& d,
                          int64_t row0, int64_t col0)
      : a(a),
        b(b),
        tables(tables),
        k_end(range.end),
        sa(a, threadIdx.x, range.batch, row0, d.m),
        sb(b, threadIdx.x, range.batch, col0, d.n) {}
  // Threads 0..BK-1 decompose A's k's, the next BK threads B's.
  __device__ void tabulate(int64_t k0, int buffer) {
    int t = threadIdx.x;
    if (t < BK) tabulate_depth(a, tables.a[buffer], t, k0, k_end);
    else if (t < 2 * BK) tabulate_depth(b, tables.b[buffer], t - BK, k0, k_end);
  }
  __device__ void fetch(int64_t k0, int buffer) {
#pragma unroll
    for (int l = 0; l < StagerA::kLoads; ++l) ra[l] = sa.load(a, l, tables.a[buffer], k0, k_end);
#pragma unroll
    for (int l = 0; l < StagerB::kLoads; ++l) rb[l] = sb.load(b, l, tables.b[buffer], k0, k_end);
  }
};

// The K loop both kernels share: stash() moves the fetched slice into shared
// memory, multiply() consumes it while the next slice is fetched. (A loop
// whose first pass only fetches builds the fetch once, 6% less GPU code, but
// issues 15% more a step: not taken.)
template <int BK, class Fetcher, class Stash, class Multiply>
__device__ void k_loop(Fetcher& f, const SplitRange& range, Stash stash, Multiply multiply) {
  if (range.begin >= range.end) return;
  int buffer = 0;
  f.tabulate(range.begin, buffer);
  __syncthreads();
  f.fetch(range.begin, buffer);
  for (int64_t k0 = range.begin; k0 < range.end; k0 += BK) {
    stash();
    const bool more = k0 + BK < range.end;
    buffer ^= 1;
    if (more) f.tabulate(k0 + BK, buffer);
    __syncthreads();
    if (more) f.fetch(k0 + BK, buffer);  // in flight while this slice is multiplied
    multiply();
    __syncthreads();
  }
}

// One element of C through the epilogue, called, not inlined: the SIMT
// kernel's TM×TN stores are unrolled (its registers need fixed indices), the
// WMMA kernel's are per fragment, and inlined they were most of the code.
template <class Out, typename T>
__device__ __noinline__ void store_element(const Out& out, int64_t b, int64_t split, int64_t row, int64_t col,
                                           T value) {
  out(b, split, row, col, value);
}

// Each element (row, col) of a bm × bn tile at (row0, col0) inside C: the
// sum of `count` partials of it, `step` splits apart from split `first`,
// stored into split `first`'s slot or, with `final`, through the epilogue.
template <typename T, class Out>
__device__ __noinline__ void sum_split_slots(const OutOrSplit<T, Out>& out, const GemmDims& d, int64_t batch,
                                             int64_t row0, int64_t col0, int bm, int bn, int64_t first, int64_t count,
                                             int64_t step, bool final) {
  const SplitStore<T>& partial = out.partial;
  const int64_t stride = step * partial.at(0, 1, 0, 0);
#pragma unroll 1
  for (int e = threadIdx.x; e < bm * bn; e += blockDim.x) {
    const int64_t row = row0 + e / bn, col = col0 + e % bn;
    if (row >= d.m || col >= d.n) continue;
    T* slot = &partial.workspace[partial.at(batch, first, row, col)];
    T sum = 0;
#pragma unroll 1
    for (int64_t i = 0; i < count; ++i) sum += load_arrived(slot + i * stride);
    if (final) out.out(batch, 0, row, col, sum);
    else *slot = sum;
  }
}

// Where K is split, the tile's partial sums (SplitStore's workspace) are
// added in two levels (gpu/gemm.h, kSplitGroup): the last split of each
// group to arrive adds the group's partials in split order, into the group's
// first slot, or, with one group, applies the product's epilogue; with
// several, the last group to finish adds the groups' sums in group order and
// applies it. Deterministic, and no second launch. Called by every thread of
// the block once its partial tile (bm × bn) is stored.
template <typename T, class Out>
__device__ __noinline__ void finish_split_tile(const OutOrSplit<T, Out>& out, const GemmDims& d,
                                               const SplitRange& range, int64_t row0, int64_t col0, int bm, int bn) {
  if (!out.partial.workspace) return;
  const int64_t groups = split_groups(d.splits), group = range.split / kSplitGroup, first = group * kSplitGroup;
  const int64_t in_group = first + kSplitGroup < d.splits ? kSplitGroup : d.splits - first;
  unsigned* counters = &out.partial.arrivals[split_tile_counter(range.batch, blockIdx.y, blockIdx.x, gridDim.y,
                                                                gridDim.x, split_counters_per_tile(d.splits))];
  if (!last_to_arrive(&counters[group], in_group)) return;
  sum_split_slots(out, d, range.batch, row0, col0, bm, bn, first, in_group, 1, groups == 1);
  if (groups > 1 && last_to_arrive(&counters[groups], groups))
    sum_split_slots(out, d, range.batch, row0, col0, bm, bn, 0, groups, kSplitGroup, true);
}

// ---- CUDA cores ---------------------------------------------------------------------

// N neighbouring values of shared memory into registers: 16-byte loads of
// float4 or double2 (float2 for two floats). `from` is aligned to them: the
// slices' row pitches and each thread's first row or column are multiples.
template <int N, typename T>
__device__ void load_neighbours(T (&to)[N], const T* from) {
  if constexpr (std::is_same_v<T, float> && N % 4 == 0) {
#pragma unroll
    for (int q = 0; q < N / 4; ++q) {
      const float4 v = reinterpret_cast<const float4*>(from)[q];
      to[4 * q] = v.x, to[4 * q + 1] = v.y, to[4 * q + 2] = v.z, to[4 * q + 3] = v.w;
    }
  } else if constexpr (std::is_same_v<T, float> && N == 2) {
    const float2 v = *reinterpret_cast<const float2*>(from);
    to[0] = v.x, to[1] = v.y;
  } else if constexpr (std::is_same_v<T, double> && N % 2 == 0) {
#pragma unroll
    for (int q = 0; q < N / 2; ++q) {
      const double2 v = reinterpret_cast<const double2*>(from)[q];
      to[2 * q] = v.x, to[2 * q + 1] = v.y;
    }
  } else {
#pragma unroll
    for (int i = 0; i < N; ++i) to[i] = from[i];
  }
}

template <class Shape, class Patch, typename T, class A, class B, class Out>
__global__ void __launch_bounds__(Shape::kThreads, Shape::kMinBlocks) simt_kernel(GemmDims d, A a, B b, Out out) {
  constexpr int BM = Shape::kBm, BN = Shape::kBn, BK = Shape::kBk, TM = Patch::kTm, TN = Patch::kTn;
  static_assert((BM + 4) * sizeof(T) % 16 == 0 && (BN + 4) * sizeof(T) % 16 == 0, "16-byte aligned rows");
  __shared__ __align__(16) T as[BK][BM + 4];
  __shared__ __align__(16) T bs[BK][BN + 4];
  using Fetcher = SliceFetcher<Shape, A, B>;
  __shared__ typename Fetcher::Tables tables;
  const SplitRange range(d);
  const int64_t row0 = int64_t(blockIdx.y) * BM, col0 = int64_t(blockIdx.x) * BN;
  Fetcher f(a, b, tables, range, d, row0, col0);
  const Patch patch(threadIdx.x);
  T acc[TM][TN] = {};
  auto stash = [&]() {
#pragma unroll
    for (int l = 0; l < Fetcher::StagerA::kLoads; ++l) as[f.sa.slots.depth(l)][f.sa.slots.line(l)] = f.ra[l];
#pragma unroll
    for (int l = 0; l < Fetcher::StagerB::kLoads; ++l) bs[f.sb.slots.depth(l)][f.sb.slots.line(l)] = f.rb[l];
  };
  auto multiply = [&]() {
#pragma unroll
    for (int p = 0; p < BK; ++p) {
      T ar[TM], br[TN];
      load_neighbours(ar, &as[p][patch.first_row]);
      load_neighbours(br, &bs[p][patch.first_col]);
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += ar[i] * br[j];
    }
  };
  k_loop<BK>(f, range, stash, multiply);
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    int64_t row = row0 + patch.first_row + i;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      int64_t col = col0 + patch.first_col + j;
      if (row < d.m && col < d.n) store_element(out, range.batch, range.split, row, col, acc[i][j]);
    }
  }
  finish_split_tile(out, d, range, row0, col0, BM, BN);
}

// ---- tensor cores ---------------------------------------------------------------------

struct Tf32 {};
struct Bf16 {};

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
template <typename Input>
struct InputTraits;
template <>
struct InputTraits<Tf32> {
  using Stored = float;
  using Precision = nvcuda::wmma::precision::tf32;
  static constexpr int kStep = 8;  // WMMA depth
  __device__ static float round(float v) { return nvcuda::wmma::__float_to_tf32(v); }
};
template <>
struct InputTraits<Bf16> {
  using Stored = __nv_bfloat16;
  using Precision = __nv_bfloat16;
  static constexpr int kStep = 16;
  __device__ static __nv_bfloat16 round(float v) { return __float2bfloat16_rn(v); }
};
#endif

template <class Shape, int WM, int WN, typename Input, class A, class B, class Out>
__global__ void __launch_bounds__(Shape::kThreads, Shape::kMinBlocks) wmma_kernel(GemmDims d, A a, B b, Out out) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  using namespace nvcuda;
  using Traits = InputTraits<Input>;
  using Stored = typename Traits::Stored;
  constexpr int BM = Shape::kBm, BN = Shape::kBn, BK = Shape::kBk;
  constexpr int kWarpsN = BN / WN, kFragsM = WM / 16, kFragsN = WN / 16, kWarps = Shape::kThreads / 32;
  static_assert((BM / WM) * kWarpsN == kWarps, "one patch per warp");
  static_assert(BK % 16 == 0, "a slice holds whole WMMA steps of both input types");
  // Row pitches padded by 16 bytes: WMMA wants pitches of whole 16-byte units
  // and 32-byte-aligned fragment starts; the padding spreads rows over banks.
  constexpr int kPad = 16 / int(sizeof(Stored)), kLdA = BK + kPad, kLdB = BN + kPad, kLdS = 20;
  __shared__ __align__(128) Stored as[BM][kLdA];  // m × k
  __shared__ __align__(128) Stored bs[BK][kLdB];  // k × n
  __shared__ __align__(128) float scratch[kWarps][16][kLdS];

  using Fetcher = SliceFetcher<Shape, A, B>;
  __shared__ typename Fetcher::Tables tables;
  const SplitRange range(d);
  const int64_t row0 = int64_t(blockIdx.y) * BM, col0 = int64_t(blockIdx.x) * BN;
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  const int warp_row = warp / kWarpsN * WM, warp_col = warp % kWarpsN * WN;
  Fetcher f(a, b, tables, range, d, row0, col0);
  auto stash = [&]() {
#pragma unroll
    for (int l = 0; l < Fetcher::StagerA::kLoads; ++l)
      as[f.sa.slots.line(l)][f.sa.slots.depth(l)] = Traits::round(f.ra[l]);
#pragma unroll
    for (int l = 0; l < Fetcher::StagerB::kLoads; ++l)
      bs[f.sb.slots.depth(l)][f.sb.slots.line(l)] = Traits::round(f.rb[l]);
  };

  wmma::fragment<wmma::accumulator, 16, 16, Traits::kStep, float> acc[kFragsM][kFragsN];
#pragma unroll
  for (int i = 0; i < kFragsM; ++i)
#pragma unroll
    for (int j = 0; j < kFragsN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);
  auto multiply = [&]() {
#pragma unroll
    for (int kk = 0; kk < BK; kk += Traits::kStep) {
      wmma::fragment<wmma::matrix_a, 16, 16, Traits::kStep, typename Traits::Precision, wmma::row_major> fa[kFragsM];
      wmma::fragment<wmma::matrix_b, 16, 16, Traits::kStep, typename Traits::Precision, wmma::row_major> fb[kFragsN];
#pragma unroll
      for (int i = 0; i < kFragsM; ++i) wmma::load_matrix_sync(fa[i], &as[warp_row + 16 * i][kk], kLdA);
#pragma unroll
      for (int j = 0; j < kFragsN; ++j) wmma::load_matrix_sync(fb[j], &bs[kk][warp_col + 16 * j], kLdB);
#pragma unroll
      for (int i = 0; i < kFragsM; ++i)
#pragma unroll
        for (int j = 0; j < kFragsN; ++j) wmma::mma_sync(acc[i][j], fa[i], fb[j], acc[i][j]);
    }
  };
  k_loop<BK>(f, range, stash, multiply);

#pragma unroll
  for (int i = 0; i < kFragsM; ++i)
#pragma unroll
    for (int j = 0; j < kFragsN; ++j) {
      wmma::store_matrix_sync(&scratch[warp][0][0], acc[i][j], kLdS, wmma::mem_row_major);
      __syncwarp();
      // Not unrolled: once per block, and unrolled 8 × fragments it was most of the kernel's code.
#pragma unroll 1
      for (int e = lane; e < 256; e += 32) {
        int64_t row = row0 + warp_row + 16 * i + e / 16, col = col0 + warp_col + 16 * j + e % 16;
        if (row < d.m && col < d.n)
          store_element(out, range.batch, range.split, row, col, scratch[warp][e / 16][e % 16]);
      }
      __syncwarp();
    }
  finish_split_tile(out, d, range, row0, col0, BM, BN);
#endif
}

// TF32 and BF16 tensor-core inputs need compute capability 8.0 (Ampere).
inline bool has_tensor_cores(int device) {
  cuda::require_device(device);
  for (const cuda::GpuInfo& gpu : cuda::availability().devices)
    if (gpu.index == device) return gpu.major >= 8;
  return false;
}

// The kernel of tile t.kernel, instantiated only where `Tiles` allows it.
template <typename T, GemmTileSet Tiles, class A, class B, class Out>
void launch_tiles(int device, const cuda::LaunchPlan& plan, const GemmTiling& t, const GemmDims& d, const A& a,
                  const B& b, const Out& out) {
  DMDLK_CHECK(tile_allowed(Tiles, t.kernel), ErrorCode::Internal, "tiled gemm: tile ", int(t.kernel),
              " is not among the product's tiles");
  if constexpr (!std::is_same_v<T, float>) {
    // float64 (gradient checks and parity tests, not speed): one tile (choose_gemm_tiling).
    DMDLK_CHECK(t.kernel == GemmKernel::SimtSmall, ErrorCode::Internal, "tiled gemm: a float64 product on tile ",
                int(t.kernel));
    return launch(device, plan, simt_kernel<SimtSmallTile, SimtSmallPatch, T, A, B, Out>, d, a, b, out);
  } else {
    const bool bf16 = t.unit == cuda::MathUnit::Bf16;
    constexpr bool kLarge = tile_allowed(Tiles, GemmKernel::SimtLarge),
                   kSmall = tile_allowed(Tiles, GemmKernel::WmmaSmall),
                   kWide = tile_allowed(Tiles, GemmKernel::WmmaWide);
    switch (t.kernel) {
      case GemmKernel::SimtLarge:
        if constexpr (kLarge)
          return launch(device, plan, simt_kernel<SimtLargeTile, SimtLargePatch, T, A, B, Out>, d, a, b, out);
        break;
      case GemmKernel::SimtSmall:
        return launch(device, plan, simt_kernel<SimtSmallTile, SimtSmallPatch, T, A, B, Out>, d, a, b, out);
      case GemmKernel::SimtTiny:
        return launch(device, plan, simt_kernel<SimtTinyTile, SimtTinyPatch, T, A, B, Out>, d, a, b, out);
      case GemmKernel::WmmaLarge:
        if constexpr (kLarge) {
          if (bf16) return launch(device, plan, wmma_kernel<WmmaLargeTile, 64, 32, Bf16, A, B, Out>, d, a, b, out);
          return launch(device, plan, wmma_kernel<WmmaLargeTile, 64, 32, Tf32, A, B, Out>, d, a, b, out);
        }
        break;
      case GemmKernel::WmmaSmall:
        if constexpr (kSmall) {
          if (bf16) return launch(device, plan, wmma_kernel<WmmaSmallTile, 32, 32, Bf16, A, B, Out>, d, a, b, out);
          return launch(device, plan, wmma_kernel<WmmaSmallTile, 32, 32, Tf32, A, B, Out>, d, a, b, out);
        }
        break;
      case GemmKernel::WmmaTiny:
        if (bf16) return launch(device, plan, wmma_kernel<WmmaTinyTile, 16, 16, Bf16, A, B, Out>, d, a, b, out);
        return launch(device, plan, wmma_kernel<WmmaTinyTile, 16, 16, Tf32, A, B, Out>, d, a, b, out);
      case GemmKernel::WmmaWide:
        if constexpr (kWide) {
          if (bf16) return launch(device, plan, wmma_kernel<WmmaWideTile, 32, 16, Bf16, A, B, Out>, d, a, b, out);
          return launch(device, plan, wmma_kernel<WmmaWideTile, 32, 16, Tf32, A, B, Out>, d, a, b, out);
        }
        break;
    }
    // Not reached: the check above admits only the tiles the cases launch.
    throw Error(ErrorCode::Internal, concat("tiled gemm: tile ", int(t.kernel), " was not launched"));
  }
}

}  // namespace tiled

// One product on `device`: the tiles of `t` over `d` (split along K where t
// says so, through a workspace that each tile's last split adds up), A and B
// read through their functors, C written through `out`: plan_tiled_gemm's launch.
template <typename T, GemmTileSet Tiles = GemmTileSet::All, class A, class B, class Out>
void tiled_product(int device, const std::string& what, const GemmDims& d, const GemmTiling& t, double bytes,
                   const A& a, const B& b, const Out& out) {
  if (d.m == 0 || d.n == 0 || d.batch == 0) return;
  DMDLK_CHECK(d.batch * d.splits <= 65535 && ceil_div(d.m, t.bm) <= 65535, ErrorCode::InvalidArg, what,
              ": a product of ", d.batch, " items of ", d.m, " rows is beyond the CUDA grid");
  const cuda::LaunchPlan plan = plan_tiled_gemm(what, d, t, bytes, sizeof(T));
  if (d.splits == 1) return tiled::launch_tiles<T, Tiles>(device, plan, t, d, a, b, OutOrSplit<T, Out>{out, {}});
  Tensor workspace = Tensor::empty({d.splits * d.batch * d.m * d.n}, dtype_of<T>::value, Device::cuda(device));
  unsigned* arrivals =
      cuda::arrival_counters(device, size_t(plan.grid.x * plan.grid.y * d.batch * split_counters_per_tile(d.splits)));
  SplitStore<T> partial{workspace.data<T>(), arrivals, d.batch, d.m, d.n};
  tiled::launch_tiles<T, Tiles>(device, plan, t, d, a, b, OutOrSplit<T, Out>{out, partial});
}

}  // namespace dmdlk::cuda_ops
