// The index arithmetic of the CUDA tiled GEMM, run on the CPU: the operand
// gathers and epilogue stores of gpu/gemm_operands.h (host and device
// functions) against the CPU's im2col and plain loops over the tensors they
// stand for, on ragged shapes; the split-K ranges against K; every block's
// staging of its slices (gpu/gemm_staging.h: the loading threads' slots,
// their hoisted lines and the depth tables), slice by slice, as the kernels
// run it; attention's score epilogue, making the CPU's attention. No GPU is
// needed to find an index that is off by one.
#include <cmath>
#include <cstdint>
#include <vector>

#include "gpu/attention.h"
#include "gpu/gemm.h"
#include "gpu/gemm_operands.h"
#include "gpu/gemm_staging.h"
#include "harness.h"
#include "ops/attention.h"
#include "ops/im2col.h"

using namespace dmdlk;
using namespace dmdlk::cuda_ops;

namespace {

// Deterministic values in [-1, 1), none of them 0 (so a gather of padding is told apart).
std::vector<float> values(int64_t n, uint32_t seed) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) {
    seed = seed * 1664525u + 1013904223u;
    x = (float((seed >> 8) & 0xFFFF) + 0.5f) / 32768.0f - 1.0f;
  }
  return v;
}

// A convolution case: x [images, groups·in_group, H, W], weight [groups·out_group, in_group, kh, kw].
struct ConvCase {
  int64_t images, groups, in_group, out_group, height, width, kernel_h, kernel_w, stride_h, stride_w, pad_h, pad_w,
      dilation_h, dilation_w;
  ConvDims dims() const {
    ConvDims d;
    d.geo.channels = in_group, d.geo.height = height, d.geo.width = width;
    d.geo.kernel_h = kernel_h, d.geo.kernel_w = kernel_w;
    d.geo.stride_h = stride_h, d.geo.stride_w = stride_w, d.geo.pad_h = pad_h, d.geo.pad_w = pad_w;
    d.geo.dilation_h = dilation_h, d.geo.dilation_w = dilation_w;
    d.geo.out_h = conv_output_size(height, kernel_h, stride_h, pad_h, dilation_h);
    d.geo.out_w = conv_output_size(width, kernel_w, stride_w, pad_w, dilation_w);
    d.images = images, d.groups = groups, d.in_group = in_group, d.out_group = out_group;
    return d;
  }
};

// Odd sizes, strides that do not divide, padding wider than the kernel, dilation, groups, a 1×1 and a 7×7.
const ConvCase kCases[] = {
    {2, 1, 3, 5, 7, 9, 3, 3, 2, 2, 1, 1, 1, 1}, {3, 2, 2, 3, 6, 5, 3, 2, 1, 3, 2, 0, 2, 1},
    {1, 3, 1, 2, 5, 8, 1, 1, 1, 1, 0, 0, 1, 1}, {2, 1, 2, 2, 11, 10, 7, 7, 1, 1, 3, 3, 1, 1},
    {2, 4, 1, 1, 9, 7, 3, 3, 3, 2, 4, 4, 2, 3}, {1, 1, 4, 3, 4, 4, 4, 4, 2, 2, 1, 1, 1, 1},
};

}  // namespace

TEST(splits_cover_k_once_in_whole_slices) {
  std::vector<int64_t> depths{1, 7, 15, 16, 17, 27, 31, 33, 100, 576, 1000, 4095, 4096, 4097, 4802, 8191, 12544, 50176};
  for (int64_t k : depths)
    for (int64_t m : {3, 32, 96, 1000})
      for (int64_t n : {1, 64, 3136, 50176})
        for (MatmulPrecision precision : {MatmulPrecision::Highest, MatmulPrecision::High, MatmulPrecision::Medium})
          for (bool tensor_cores : {false, true}) {
            GemmTiling t =
                choose_gemm_tiling({"gemm", m, n, k, 1, 4.0 * (m * k + k * n + m * n)}, 4, precision, tensor_cores);
            GemmDims d = gemm_dims(m, n, k, 1, t);
            CHECK_EQ(d.k_per_split % t.bk, int64_t(0));
            CHECK(d.k_per_split <= kMaxSplitDepth);
            int64_t covered = 0;
            for (int64_t s = 0; s < d.splits; ++s) {
              KRange r = split_k_range(d, s);
              if (r.begin != covered || r.end <= r.begin) {
                CHECK(false && "split ranges must be contiguous and non-empty");
                std::printf("      k %lld, split %lld of %lld: [%lld, %lld)\n", (long long)k, (long long)s,
                            (long long)d.splits, (long long)r.begin, (long long)r.end);
              }
              covered = r.end;
            }
            CHECK_EQ(covered, k);
          }
}

// The input gradient's division by the stride (OutputTaps): exact for every
// coordinate below 2^20 and every stride up to 8, and at the edge of its range.
TEST(small_divisors_divide_exactly) {
  for (int64_t d = 1; d <= 8; ++d) {
    SmallDivisor s = SmallDivisor::of(d);
    int64_t wrong = 0;
    for (uint32_t n = 0; n < (1u << 20); ++n) wrong += s.divide(n) != n / uint32_t(d);
    for (uint32_t n = uint32_t((int64_t(1) << 31) / d) - 4096; n < uint32_t((int64_t(1) << 31) / d); ++n)
      wrong += s.divide(n) != n / uint32_t(d);
    CHECK_EQ(wrong, int64_t(0));
  }
}

TEST(a_depth_of_one_slice_is_not_split) {
  // The stem's convolution (K = 3·3·3): one split, no workspace, at every precision.
  for (MatmulPrecision precision : {MatmulPrecision::Highest, MatmulPrecision::High, MatmulPrecision::Medium})
    for (bool tensor_cores : {false, true}) {
      GemmTiling t = choose_gemm_tiling({"conv_forward", 32, 4 * 224 * 224, 27, 1, 4.0 * 4 * 224 * 224 * 35}, 4,
                                        precision, tensor_cores);
      CHECK_EQ(t.splits, int64_t(1));
    }
}

// The slots of every tile's threads: each element of a slice once, and
// neighbouring threads on neighbouring elements of the operand's contiguous axis.
template <int Lines, int Depth, int Threads>
void check_slots() {
  for (bool along_k : {false, true}) {
    std::vector<int> seen(size_t(Lines * Depth), 0);
    for (int t = 0; t < Threads; ++t) {
      SliceSlots<Lines, Depth, Threads> slots(t, along_k), next(t + 1, along_k);
      for (int l = 0; l < SliceSlots<Lines, Depth, Threads>::kLoads; ++l) {
        int line = slots.line(l), p = slots.depth(l);
        if (line < 0 || line >= Lines || p < 0 || p >= Depth) CHECK(false && "a slot outside the slice");
        else ++seen[size_t(line * Depth + p)];
        if (t + 1 < Threads && (t + 1) % (along_k ? Depth : Lines) != 0)
          CHECK(along_k ? (next.line(l) == line && next.depth(l) == p + 1)
                        : (next.depth(l) == p && next.line(l) == line + 1));
      }
    }
    for (int count : seen) CHECK_EQ(count, 1);
  }
}

template <class Tile>
void check_tile_slots() {
  check_slots<Tile::kBm, Tile::kBk, Tile::kThreads>();
  check_slots<Tile::kBn, Tile::kBk, Tile::kThreads>();
}

// Each SIMT thread's patch: the rows and columns it reads and stores cover its tile once.
template <class Tile, class Patch>
void check_patches() {
  std::vector<int> owners(size_t(Tile::kBm * Tile::kBn), 0);
  for (int t = 0; t < Tile::kThreads; ++t) {
    const Patch p(t);
    CHECK(p.first_row % Patch::kTm == 0 && p.first_col % Patch::kTn == 0);  // 16-byte aligned reads (tiled_gemm.cuh)
    for (int i = 0; i < Patch::kTm; ++i)
      for (int j = 0; j < Patch::kTn; ++j) {
        const int row = p.first_row + i, col = p.first_col + j;
        if (row >= Tile::kBm || col >= Tile::kBn) CHECK(false && "a patch outside its tile");
        else ++owners[size_t(row * Tile::kBn + col)];
      }
  }
  for (int n : owners) CHECK_EQ(n, 1);
}

TEST(simt_patches_cover_each_tile_once) {
  check_patches<SimtLargeTile, SimtLargePatch>(), check_patches<SimtSmallTile, SimtSmallPatch>();
  check_patches<SimtTinyTile, SimtTinyPatch>();
}

TEST(slots_cover_each_slice_once) {
  check_tile_slots<SimtLargeTile>(), check_tile_slots<SimtSmallTile>(), check_tile_slots<SimtTinyTile>();
  check_tile_slots<WmmaLargeTile>(), check_tile_slots<WmmaSmallTile>(), check_tile_slots<WmmaTinyTile>();
  check_tile_slots<WmmaWideTile>();
}

TEST(convolution_columns_are_im2col) {
  for (const ConvCase& c : kCases) {
    ConvDims d = c.dims();
    const int64_t rows = d.in_group * d.taps(), cols = d.images * d.out_plane();
    std::vector<float> x = values(d.images * d.in_channels() * d.in_plane(), 7);
    std::vector<float> col(size_t(rows * d.out_plane()));
    int64_t mismatches = 0;
    for (int64_t g = 0; g < d.groups; ++g)
      for (int64_t image = 0; image < d.images; ++image) {
        cpu_ops::im2col(d.geo, x.data() + (image * d.in_channels() + g * d.in_group) * d.in_plane(), col.data());
        for (int64_t k = 0; k < rows; ++k)
          for (int64_t q = 0; q < d.out_plane(); ++q) {
            int64_t n = image * d.out_plane() + q;
            float expected = col[size_t(k * d.out_plane() + q)];
            mismatches += element(ConvColumns<float>{x.data(), d}, g, n, k) != expected;
            mismatches += element(ConvColumnsT<float>{x.data(), d}, g, k, n) != expected;
          }
        // The weight gradient's column past the last tap is ones: its product with dy is the bias gradient.
        for (int64_t q = 0; q < d.out_plane(); ++q)
          mismatches += element(ConvColumnsT<float>{x.data(), d}, g, rows, image * d.out_plane() + q) != 1.0f;
      }
    CHECK_EQ(mismatches, int64_t(0));
    CHECK(cols > 0);
  }
}

TEST(weight_gradient_rows_and_input_gradient_weights_are_their_tensors) {
  for (const ConvCase& c : kCases) {
    ConvDims d = c.dims();
    std::vector<float> dy = values(d.images * d.out_channels() * d.out_plane(), 11);
    std::vector<float> w = values(d.out_channels() * d.in_group * d.taps(), 13);
    int64_t mismatches = 0;
    for (int64_t g = 0; g < d.groups; ++g) {
      // dy as A of the weight gradient: row = output channel of the group, k = (image, pixel).
      for (int64_t co = 0; co < d.out_group; ++co)
        for (int64_t image = 0; image < d.images; ++image)
          for (int64_t q = 0; q < d.out_plane(); ++q)
            mismatches += element(OutputRows<float>{dy.data(), d}, g, co, image * d.out_plane() + q) !=
                          dy[size_t(((image * d.groups + g) * d.out_group + co) * d.out_plane() + q)];
      // The weight transposed per group as A of the input gradient: row = input channel, k = (co, tap).
      for (int64_t ci = 0; ci < d.in_group; ++ci)
        for (int64_t co = 0; co < d.out_group; ++co)
          for (int64_t tap = 0; tap < d.taps(); ++tap)
            mismatches += element(WeightT<float>{w.data(), d}, g, ci, co * d.taps() + tap) !=
                          w[size_t(((g * d.out_group + co) * d.in_group + ci) * d.taps() + tap)];
    }
    CHECK_EQ(mismatches, int64_t(0));
  }
}

TEST(output_taps_are_the_adjoint_of_im2col) {
  // im2col of an image of pixel numbers says which output pixel each tap of
  // each input pixel met; OutputTaps must gather exactly that dy, else 0.
  for (const ConvCase& c : kCases) {
    ConvDims d = c.dims();
    ConvGeometry one = d.geo;
    one.channels = 1;
    std::vector<float> numbers(size_t(d.in_plane()));
    for (int64_t p = 0; p < d.in_plane(); ++p) numbers[size_t(p)] = float(p + 1);
    std::vector<float> col(size_t(d.taps() * d.out_plane()));
    cpu_ops::im2col(one, numbers.data(), col.data());
    std::vector<int64_t> met(size_t(d.taps() * d.in_plane()), -1);  // (tap, input pixel) -> output pixel
    for (int64_t tap = 0; tap < d.taps(); ++tap)
      for (int64_t q = 0; q < d.out_plane(); ++q)
        if (float pixel = col[size_t(tap * d.out_plane() + q)]; pixel != 0)
          met[size_t(tap * d.in_plane() + int64_t(pixel) - 1)] = q;
    std::vector<float> dy = values(d.images * d.out_channels() * d.out_plane(), 17);
    int64_t mismatches = 0;
    for (int64_t g = 0; g < d.groups; ++g)
      for (int64_t co = 0; co < d.out_group; ++co)
        for (int64_t tap = 0; tap < d.taps(); ++tap)
          for (int64_t image = 0; image < d.images; ++image)
            for (int64_t p = 0; p < d.in_plane(); ++p) {
              int64_t q = met[size_t(tap * d.in_plane() + p)];
              float expected =
                  q < 0 ? 0.0f : dy[size_t(((image * d.groups + g) * d.out_group + co) * d.out_plane() + q)];
              mismatches += element(OutputTaps<float>{dy.data(), d}, g, image * d.in_plane() + p,
                                    co * d.taps() + tap) != expected;
            }
    CHECK_EQ(mismatches, int64_t(0));
  }
}

TEST(every_store_lands_once_inside_its_tensor) {
  // WeightGradStore: group g's rows and taps into dw, the column past the taps into the bias gradient.
  for (const ConvCase& c : kCases) {
    ConvDims d = c.dims();
    const int64_t cols = d.in_group * d.taps();
    std::vector<float> dw(size_t(d.out_channels() * cols), NAN), db(size_t(d.out_channels()), NAN);
    std::vector<int> dw_writes(dw.size(), 0), db_writes(db.size(), 0);
    WeightGradStore<float> store{dw.data(), db.data(), d.out_group, cols};
    for (int64_t g = 0; g < d.groups; ++g)
      for (int64_t row = 0; row < d.out_group; ++row)
        for (int64_t col = 0; col <= cols; ++col) {
          const int64_t channel = g * d.out_group + row;
          store(g, 0, row, col, float(channel * 1000 + col));
          if (col == cols) ++db_writes[size_t(channel)];
          else ++dw_writes[size_t(channel * cols + col)];
        }
    int64_t wrong = 0;
    for (int64_t channel = 0; channel < d.out_channels(); ++channel) {
      wrong += db_writes[size_t(channel)] != 1 || db[size_t(channel)] != float(channel * 1000 + cols);
      for (int64_t col = 0; col < cols; ++col)
        wrong += dw_writes[size_t(channel * cols + col)] != 1 ||
                 dw[size_t(channel * cols + col)] != float(channel * 1000 + col);
    }
    CHECK_EQ(wrong, int64_t(0));
  }
  // PlaneStore: rows are the channels of a group, columns (image, pixel) of an NCHW output;
  // plus the channel's bias, plus the residual's element (conv2d's `residual`), plus what
  // the output held (a gradient summed in place): each alone and all together.
  for (const ConvCase& c : kCases) {
    ConvDims d = c.dims();
    const int64_t size = d.images * d.out_channels() * d.out_plane();
    const std::vector<float> bias = values(d.out_channels(), 19), residual = values(size, 41), held = values(size, 43);
    for (int with = 0; with < 8; ++with) {
      const bool add_bias = with & 1, add_residual = with & 2, accumulate = with & 4;
      std::vector<float> out = accumulate ? held : std::vector<float>(size_t(size), NAN);
      PlaneStore<float> store{
          out.data(), add_bias ? bias.data() : nullptr,        d.out_channels(), d.out_group, d.out_plane(),
          accumulate, add_residual ? residual.data() : nullptr};
      std::vector<int> writes(size_t(size), 0);
      for (int64_t g = 0; g < d.groups; ++g)
        for (int64_t row = 0; row < d.out_group; ++row)
          for (int64_t col = 0; col < d.images * d.out_plane(); ++col) {
            store(g, 0, row, col, float(g * 1000 + row));
            const int64_t image = col / d.out_plane(), channel = g * d.out_group + row;
            ++writes[size_t((image * d.out_channels() + channel) * d.out_plane() + col % d.out_plane())];
          }
      int64_t wrong = 0;
      for (int64_t image = 0; image < d.images; ++image)
        for (int64_t channel = 0; channel < d.out_channels(); ++channel)
          for (int64_t p = 0; p < d.out_plane(); ++p) {
            const size_t at = size_t((image * d.out_channels() + channel) * d.out_plane() + p);
            float expected = float((channel / d.out_group) * 1000 + channel % d.out_group) +
                             (add_bias ? bias[size_t(channel)] : 0.0f) + (add_residual ? residual[at] : 0.0f) +
                             (accumulate ? held[at] : 0.0f);
            wrong += writes[at] != 1 || out[at] != expected;
          }
      CHECK_EQ(wrong, int64_t(0));
    }
  }
  // DenseStore over attention-like batches (heads of a window, windows apart) and SplitStore's workspace.
  const int64_t m = 5, n = 3, heads = 2, windows = 3, ld = heads * n;
  BatchOffset by_head{heads, m * ld, n};
  std::vector<float> c(size_t(windows * m * ld), NAN);  // NaN: beta 0 must overwrite, not scale
  DenseStore<float> dense{c.data(), ld, by_head, 2.0f, 0.0f};
  std::vector<int> writes(c.size(), 0);
  for (int64_t b = 0; b < windows * heads; ++b)
    for (int64_t row = 0; row < m; ++row)
      for (int64_t col = 0; col < n; ++col) {
        int64_t at = by_head(b) + row * ld + col;
        if (at < 0 || at >= int64_t(c.size())) CHECK(false && "a dense store outside C");
        else ++writes[size_t(at)];
        dense(b, 0, row, col, 1.5f);
      }
  for (size_t i = 0; i < c.size(); ++i) CHECK(writes[i] == 1 && c[i] == 3.0f);
  // A linear layer's bias, per column, in the same store.
  const std::vector<float> bias{0.5f, -1.0f, 4.0f};
  DenseStore<float> biased{c.data(), ld, by_head, 1.0f, 0.0f, bias.data()};
  biased(1, 0, 2, 1, 1.5f);
  CHECK_EQ(c[size_t(by_head(1) + 2 * ld + 1)], 0.5f);
  const int64_t splits = 3, batch = 2;
  std::vector<float> workspace(size_t(splits * batch * m * n), 0.0f);
  SplitStore<float> partial{workspace.data(), nullptr, batch, m, n};
  for (int64_t s = 0; s < splits; ++s)
    for (int64_t b = 0; b < batch; ++b)
      for (int64_t row = 0; row < m; ++row)
        for (int64_t col = 0; col < n; ++col)
          partial(b, s, row, col, workspace[size_t(((s * batch + b) * m + row) * n + col)] + 1.0f);
  for (float v : workspace) CHECK_EQ(v, 1.0f);
  // Every (tile, batch item) of a split product counts its split groups' arrivals, and its groups', at
  // counters of its own, inside the array tiled_product allocates (grid.x · grid.y · batch · per tile).
  for (int64_t splits : {2, 16, 17, 196}) {
    const int64_t tiles_y = 3, tiles_x = 5, batches = 2, per_tile = split_counters_per_tile(splits);
    CHECK_EQ(per_tile, split_groups(splits) == 1 ? 1 : split_groups(splits) + 1);
    CHECK(split_groups(splits) * kSplitGroup >= splits && (split_groups(splits) - 1) * kSplitGroup < splits);
    std::vector<int> seen(size_t(tiles_y * tiles_x * batches * per_tile), 0);
    for (int64_t b = 0; b < batches; ++b)
      for (int64_t ty = 0; ty < tiles_y; ++ty)
        for (int64_t tx = 0; tx < tiles_x; ++tx)
          for (int64_t c = 0; c < per_tile; ++c) {
            const int64_t counter = split_tile_counter(b, ty, tx, tiles_y, tiles_x, per_tile) + c;
            if (counter < 0 || counter >= int64_t(seen.size())) CHECK(false && "a counter outside the array");
            else ++seen[size_t(counter)];
          }
    for (int n : seen) CHECK_EQ(n, 1);
  }
  // The last split of a tile walks an element's partials from split 0 by this stride (finish_split_tile).
  CHECK_EQ(partial.at(0, 1, 0, 0), batch * m * n);
  CHECK_EQ(partial.at(1, 2, 4, 2) - partial.at(1, 0, 4, 2), 2 * partial.at(0, 1, 0, 0));
}

// ---- a block's staging, run on the CPU ----------------------------------------------

// The blocks of `Tile` over an operand of `count` lines (rows of A: Lines =
// BM, columns of B: BN) and K = `depth`, split as the tiling would: each
// slice's depth table filled by the threads that fill it, every thread's
// loads put where the kernels stash them. Each staged slice must hold the
// operand's elements, 0 past its lines or its split, each exactly once.
template <int Lines, int BK, int Threads, class Operand>
int64_t staging_mismatches(const Operand& op, int64_t batches, int64_t count, int64_t depth) {
  using Value = typename Operand::Value;
  using Stager = OperandStager<Operand, Lines, BK, Threads>;
  int64_t mismatches = 0;
  for (int64_t split : {depth, int64_t(2 * BK)}) {  // K whole, and in ragged two-slice splits
    for (int64_t batch = 0; batch < batches; ++batch)
      for (int64_t first = 0; first < count; first += Lines)
        for (int64_t begin = 0; begin < depth; begin += split) {
          const int64_t end = begin + split < depth ? begin + split : depth;
          std::vector<typename Operand::Depth> table(static_cast<size_t>(BK), typename Operand::Depth{});
          std::vector<Stager> threads;
          for (int t = 0; t < Threads; ++t) threads.emplace_back(op, t, batch, first, count);
          for (int64_t k0 = begin; k0 < end; k0 += BK) {
            for (int p = 0; p < BK; ++p) tabulate_depth(op, table.data(), p, k0, end);
            std::vector<Value> staged(size_t(Lines * BK), Value(-99));
            std::vector<int> writes(size_t(Lines * BK), 0);
            for (const Stager& s : threads)
              for (int l = 0; l < Stager::kLoads; ++l) {
                size_t at = size_t(s.slots.line(l) * BK + s.slots.depth(l));
                staged[at] = s.load(op, l, table.data(), k0, end), ++writes[at];
              }
            for (int i = 0; i < Lines; ++i)
              for (int p = 0; p < BK; ++p) {
                bool inside = first + i < count && k0 + p < end;
                Value expected = inside ? element(op, batch, first + i, k0 + p) : Value(0);
                mismatches += writes[size_t(i * BK + p)] != 1 || staged[size_t(i * BK + p)] != expected;
              }
          }
        }
  }
  return mismatches;
}

// Every operand of the three convolution products, as A (BM lines) and B (BN lines) of `Tile`.
template <class Tile>
int64_t convolution_staging_mismatches(const ConvCase& c) {
  constexpr int BM = Tile::kBm, BN = Tile::kBn, BK = Tile::kBk, T = Tile::kThreads;
  ConvDims d = c.dims();
  std::vector<float> x = values(d.images * d.in_channels() * d.in_plane(), 23);
  std::vector<float> dy = values(d.images * d.out_channels() * d.out_plane(), 29);
  std::vector<float> w = values(d.out_channels() * d.in_group * d.taps(), 31);
  const int64_t cols = d.in_group * d.taps(), pixels = d.images * d.out_plane();
  DenseA<float> weight{{w.data(), cols, false, BatchOffset::strided(d.out_group * cols)}};
  int64_t m = 0;
  m += staging_mismatches<BM, BK, T>(weight, d.groups, d.out_group, cols);                      // forward A
  m += staging_mismatches<BN, BK, T>(ConvColumns<float>{x.data(), d}, d.groups, pixels, cols);  // forward B
  m += staging_mismatches<BM, BK, T>(WeightT<float>{w.data(), d}, d.groups, d.in_group, d.out_group * d.taps());
  m += staging_mismatches<BN, BK, T>(OutputTaps<float>{dy.data(), d}, d.groups, d.images * d.in_plane(),
                                     d.out_group * d.taps());
  m += staging_mismatches<BM, BK, T>(OutputRows<float>{dy.data(), d}, d.groups, d.out_group, pixels);
  m += staging_mismatches<BN, BK, T>(ConvColumnsT<float>{x.data(), d}, d.groups, cols + 1, pixels);  // + ones
  return m;
}

TEST(every_block_stages_the_convolution_operands) {
  for (const ConvCase& c : kCases) {
    int64_t m = convolution_staging_mismatches<SimtLargeTile>(c) + convolution_staging_mismatches<SimtSmallTile>(c) +
                convolution_staging_mismatches<SimtTinyTile>(c) + convolution_staging_mismatches<WmmaLargeTile>(c) +
                convolution_staging_mismatches<WmmaSmallTile>(c) + convolution_staging_mismatches<WmmaTinyTile>(c) +
                convolution_staging_mismatches<WmmaWideTile>(c);
    CHECK_EQ(m, int64_t(0));
  }
}

TEST(every_block_stages_dense_operands_both_ways) {
  // 37 × 45 matrices (ld 50) of 3 batch items, in runs of 2 (attention's heads of a window).
  const int64_t rows = 37, cols = 45, ld = 50, items = 3;
  BatchOffset by_head{2, 2 * 60 * ld, 60};
  std::vector<float> data = values(2 * 2 * 60 * ld, 37);
  int64_t m = 0;
  for (bool trans : {false, true}) {
    int64_t lines = trans ? cols : rows, depth = trans ? rows : cols;  // op(A) is lines × depth
    DenseA<float> a{{data.data(), ld, trans, by_head}};
    DenseB<float> b{{data.data(), ld, trans, by_head}};
    m += staging_mismatches<128, 8, 256>(a, items, lines, depth) +
         staging_mismatches<32, 16, 128>(a, items, lines, depth);
    m += staging_mismatches<128, 16, 256>(b, items, depth, lines) +
         staging_mismatches<64, 16, 128>(b, items, depth, lines);
  }
  CHECK_EQ(m, int64_t(0));
}

TEST(attention_score_epilogue_makes_the_cpu_attention) {
  // attention.cu's algorithm on the CPU, its products as plain loops and its
  // epilogue (ScoreStore) as the kernels call it: scores, softmax, O = P·V;
  // then P again from the log-sum-exp, dS over it, and dQ, dK and the bias
  // gradient from dS. Against the CPU backend's attention, in double.
  AttentionShape s;
  s.windows = 2, s.window_h = 3, s.window_w = 4, s.tokens = 12, s.channels = 8, s.heads = 2, s.scale = 0.37;
  const int64_t n = s.tokens, d = s.head_dim(), items = s.windows * s.heads;
  auto tensor = [](std::vector<int64_t> shape, uint32_t seed) {
    int64_t size = 1;
    for (int64_t e : shape) size *= e;
    std::vector<float> f = values(size, seed);
    return Tensor::from_vector(std::vector<double>(f.begin(), f.end()), shape);
  };
  Tensor q = tensor({s.windows, n, s.channels}, 51), k = tensor({s.windows, n, s.channels}, 53),
         v = tensor({s.windows, n, s.channels}, 57), rel = tensor({s.heads, 5, 7}, 59),
         dout = tensor({s.windows, n, s.channels}, 61);
  AttentionOutput want = attention(q, k, v, rel, s.window_h, s.window_w, s.heads, s.scale);
  AttentionGrads want_grads = attention_backward(dout, q, k, v, rel, want, s.window_h, s.window_w, s.heads, s.scale);
  const std::vector<double> Q = q.to_vector<double>(), K = k.to_vector<double>(), V = v.to_vector<double>(),
                            R = rel.to_vector<double>(), dO = dout.to_vector<double>(),
                            O = want.out.to_vector<double>();
  // Element e of token t's head of item b (window b / heads, head b % heads).
  auto at = [&](int64_t b, int64_t t, int64_t e) {
    return size_t(((b / s.heads) * n + t) * s.channels + b % s.heads * d + e);
  };
  auto product = [&](const std::vector<double>& x, const std::vector<double>& y, int64_t b, int64_t i, int64_t j) {
    double sum = 0;
    for (int64_t e = 0; e < d; ++e) sum += x[at(b, i, e)] * y[at(b, j, e)];
    return sum;
  };
  using Store = ScoreStore<double>;
  std::vector<double> scores(size_t(items * n * n)), lse(size_t(items * n)), out(O.size(), 0.0);
  const Store make_scores{Store::Writes::Scores, scores.data(), R.data(), nullptr, s};
  for (int64_t b = 0; b < items; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) make_scores(b, 0, i, j, product(Q, K, b, i, j));
  for (int64_t row = 0; row < items * n; ++row) {  // softmax_rows_kernel
    double m = -INFINITY, sum = 0;
    for (int64_t j = 0; j < n; ++j) m = std::max(m, scores[size_t(row * n + j)]);
    for (int64_t j = 0; j < n; ++j) sum += std::exp(scores[size_t(row * n + j)] - m);
    lse[size_t(row)] = m + std::log(sum);
    for (int64_t j = 0; j < n; ++j) scores[size_t(row * n + j)] = std::exp(scores[size_t(row * n + j)] - m) / sum;
  }
  for (int64_t b = 0; b < items; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t e = 0; e < d; ++e) out[at(b, i, e)] += scores[size_t((b * n + i) * n + j)] * V[at(b, j, e)];
  CHECK_CLOSE(Tensor::from_vector(out, want.out.shape()), want.out, 1e-12, 1e-12);
  CHECK_CLOSE(Tensor::from_vector(lse, want.logsumexp.shape()), want.logsumexp, 1e-12, 1e-12);

  std::vector<double> delta(size_t(items * n), 0.0), grads(scores.size());
  for (int64_t b = 0; b < items; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t e = 0; e < d; ++e) delta[size_t(b * n + i)] += dO[at(b, i, e)] * O[at(b, i, e)];
  const Store probabilities{Store::Writes::Probabilities, grads.data(), R.data(), lse.data(), s},
      score_grads{Store::Writes::Gradients, grads.data(), nullptr, delta.data(), s};
  for (int64_t b = 0; b < items; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) probabilities(b, 0, i, j, product(Q, K, b, i, j));
  for (size_t e = 0; e < scores.size(); ++e) CHECK(std::abs(grads[e] - scores[e]) < 1e-12);
  for (int64_t b = 0; b < items; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) score_grads(b, 0, i, j, product(dO, V, b, i, j));
  std::vector<double> dq(Q.size(), 0.0), dk(K.size(), 0.0), drel(R.size(), 0.0);
  for (int64_t b = 0; b < items; ++b)
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < n; ++j) {
        const double ds = grads[size_t((b * n + i) * n + j)];
        for (int64_t e = 0; e < d; ++e) {
          dq[at(b, i, e)] += s.scale * ds * K[at(b, j, e)];
          dk[at(b, j, e)] += s.scale * ds * Q[at(b, i, e)];
        }
        drel[size_t(b % s.heads * s.table() + s.rel_index(i, j))] += ds;
      }
  CHECK_CLOSE(Tensor::from_vector(dq, q.shape()), want_grads.dq, 1e-12, 1e-10);
  CHECK_CLOSE(Tensor::from_vector(dk, k.shape()), want_grads.dk, 1e-12, 1e-10);
  CHECK_CLOSE(Tensor::from_vector(drel, rel.shape()), want_grads.drel_pos, 1e-12, 1e-10);
}

int main() { return dmdlk::test::run_all(); }
