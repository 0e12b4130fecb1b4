// The per-channel reductions of gpu/reduce.h on CUDA, run on the CPU: every
// block of reduce_kernels.cuh's launch, thread by thread, with the host and
// device functions the kernels use (plane_piece, column_lane, piece_index)
// and their arrival counting, in an arbitrary arrival order, against
// per-channel sums. Each piece must be written once, each counter reached by
// exactly the arrivals it waits for, and each channel finished once, by the
// last block to arrive, from exactly its own pieces.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "gpu/reduce.h"
#include "harness.h"

using namespace dmdlk;
using namespace dmdlk::cuda_ops;

namespace {

struct Outcome {
  int64_t mismatches = 0;    // totals that differ from the direct sum
  int64_t bad_writes = 0;    // pieces written other than once, or out of range
  int64_t bad_finishes = 0;  // channels finished other than once
  int64_t bad_counters = 0;  // counters not reached exactly arrivals_per_counter() times
};

// Runs the launch for `l` with the blocks arriving in a shuffled order.
Outcome emulate(const ChannelLayout& l, uint32_t seed) {
  const ChannelReduction r = channel_reduction(l);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<double> value(-1, 1);
  std::vector<double> x(size_t(l.outer * l.channels * l.inner));
  for (double& v : x) v = value(rng);
  auto load = [&](int64_t o, int64_t c, int64_t i) { return x[size_t((o * l.channels + c) * l.inner + i)]; };

  std::vector<double> pieces(size_t(r.pieces()), NAN);
  std::vector<int> writes(pieces.size(), 0), finishes(size_t(l.channels), 0);
  std::vector<int64_t> arrivals(size_t(r.counters()), 0);
  std::vector<double> totals(size_t(l.channels), NAN);
  Outcome out;
  auto write = [&](int64_t piece, double v) {
    if (piece < 0 || piece >= r.pieces()) return void(++out.bad_writes);
    ++writes[size_t(piece)];
    pieces[size_t(piece)] = v;
  };
  auto finish = [&](int64_t c) {
    double sum = 0;
    for (int64_t e = 0; e < r.pieces_per_channel(); ++e) sum += pieces[size_t(r.piece_index(c, e))];
    totals[size_t(c)] = sum;
    ++finishes[size_t(c)];
  };
  // Whether a block arriving at `counter` is the last (the kernels' last_to_arrive).
  auto arrive = [&](int64_t counter) { return ++arrivals[size_t(counter)] == r.arrivals_per_counter(); };

  std::vector<std::pair<int64_t, int64_t>> blocks;  // (x, y)
  if (r.planes)
    for (int64_t b = 0; b < r.pieces(); ++b) blocks.push_back({b, 0});
  else
    for (int64_t g = 0; g < r.channel_groups(); ++g)
      for (int64_t chunk = 0; chunk < r.chunks; ++chunk) blocks.push_back({g, chunk});
  std::shuffle(blocks.begin(), blocks.end(), rng);
  for (auto [bx, by] : blocks) {
    if (r.planes) {
      const PlanePiece p = plane_piece(r, uint32_t(bx));
      double sum = 0;
      for (int64_t t = 0; t < kReduceThreads; ++t)
        for (int64_t i = p.begin + t; i < p.end; i += kReduceThreads) sum += load(p.o, p.c, i);
      write(bx, sum);
      if (arrive(p.c)) finish(p.c);
    } else {
      std::vector<double> row_sums(size_t(kReduceThreads), 0);
      for (uint32_t t = 0; t < uint32_t(kReduceThreads); ++t) {
        const ColumnLane c = column_lane(r, uint32_t(bx), uint32_t(by), t);
        if (c.active)
          for (int64_t o = c.begin; o < c.end; o += kRowLanes) row_sums[t] += load(o, c.c, c.i);
      }
      for (uint32_t t = 0; t < uint32_t(kColumnLanes); ++t) {
        const ColumnLane c = column_lane(r, uint32_t(bx), uint32_t(by), t);
        if (!c.active) continue;
        double sum = 0;
        for (int64_t lane = 0; lane < kRowLanes; ++lane) sum += row_sums[size_t(lane * kColumnLanes + t)];
        write(c.piece, sum);
      }
      if (arrive(bx))
        for (int64_t ch = bx * r.channels_per_block; ch < std::min(l.channels, (bx + 1) * r.channels_per_block); ++ch)
          finish(ch);
    }
  }
  for (int w : writes) out.bad_writes += w != 1;
  for (int f : finishes) out.bad_finishes += f != 1;
  for (int64_t a : arrivals) out.bad_counters += a != r.arrivals_per_counter();
  for (int64_t c = 0; c < l.channels; ++c) {
    double expected = 0;
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) expected += load(o, c, i);
    out.mismatches += !(std::fabs(totals[size_t(c)] - expected) <= 1e-9 * (1 + std::fabs(expected)));
  }
  return out;
}

}  // namespace

TEST(every_block_of_a_channel_reduction_and_its_last_arrival_cover_each_channel_once) {
  // {outer, channels, inner}: long planes (chunked, and few planes that the
  // chunks must fill the GPU with), short ones in whole-channel groups
  // (inner 1: 64 channels a block; 63: one), ragged last groups, rows chunked
  // to fill the GPU and to bound a thread's walk, and empty tensors.
  int planes = 0, columns = 0;
  for (ChannelLayout l : std::vector<ChannelLayout>{{4, 32, 50176},
                                                    {1, 3, 300000},
                                                    {2, 5, 64},
                                                    {3136, 128, 1},
                                                    {5, 131, 1},
                                                    {40000, 3, 3},
                                                    {7, 9, 63},
                                                    {200, 13, 49},
                                                    {0, 6, 49},
                                                    {4, 6, 0},
                                                    {0, 2, 0}}) {
    const ChannelReduction r = channel_reduction(l);
    (r.planes ? planes : columns) += 1;
    Outcome o = emulate(l, uint32_t(l.outer * 31 + l.channels * 7 + l.inner));
    if (o.mismatches || o.bad_writes || o.bad_finishes || o.bad_counters)
      test::fail(
          __FILE__, __LINE__,
          concat("[", l.outer, ", ", l.channels, ", ", l.inner, "] (", r.planes ? "planes" : "columns", ", ", r.chunks,
                 " chunks): ", o.mismatches, " wrong totals, ", o.bad_writes, " bad piece writes, ", o.bad_finishes,
                 " channels not finished once, ", o.bad_counters, " counters not reached exactly"));
    // The launch's plan is the grid emulated here.
    const cuda::LaunchPlan p = plan_channel_reduce("sum", l, 4, 1, 8, 4)[0];
    CHECK_EQ(p.grid.count(), r.planes ? r.pieces() : r.channel_groups() * r.chunks);
    CHECK(p.serial_reduction <= 4096);
  }
  CHECK(planes >= 4 && columns >= 4);
}

int main() { return dmdlk::test::run_all(); }
