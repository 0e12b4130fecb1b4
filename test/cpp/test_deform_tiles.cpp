// DDLK's deformable convolution on CUDA, run on the CPU: the per-thread work
// of gpu/deform_depthwise.h (host and device functions) driven block by block
// and thread by thread as native/cuda/deform_depthwise.cu drives it (channel
// chunks, halo origins, the halo's flush to dx, dweight's per-block sums),
// with plain additions where the kernels add atomically, against the CPU
// kernels in double precision. Offsets large enough that many samples leave
// the halo (the global-atomic path), ragged tiles, strides, dilations,
// channels that fill no chunk, and batches small enough that the backward
// splits the channels into groups.
#include <cmath>
#include <cstdint>
#include <random>
#include <tuple>
#include <vector>

#include "gpu/deform_depthwise.h"
#include "harness.h"
#include "ops/deform_depthwise_cpu.h"

using namespace dmdlk;
using namespace dmdlk::cuda_ops;

namespace {

const double kZero = 0;  // what the threads' corners outside the image read (the kernels' own)

struct Case {
  int64_t batch, channels, height, width, kernel, stride, pad, dilation;
  double offset_scale;
  DeformGeometry geometry() const {
    DeformGeometry g;
    g.channels = channels, g.height = height, g.width = width;
    g.kernel_h = g.kernel_w = kernel, g.stride_h = g.stride_w = stride;
    g.pad_h = g.pad_w = pad, g.dilation_h = g.dilation_w = dilation;
    g.out_h = (height + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
    g.out_w = (width + 2 * pad - dilation * (kernel - 1) - 1) / stride + 1;
    return g;
  }
};

const Case kCases[] = {
    {2, 6, 21, 19, 7, 1, 9, 3, 3.0},  // dlk2's geometry: 2 ragged tiles a side, chunks of 4 and 2
    {1, 9, 17, 33, 5, 1, 2, 1, 6.0},  // dlk1's, one image: channel groups; many samples past the margin
    {3, 5, 13, 12, 3, 2, 1, 1, 1.5},  // a stride of 2
    {1, 3, 40, 40, 7, 1, 9, 3, 0.5},  // nearly every sample in the halo
};

std::vector<double> random_values(size_t n, double scale, std::mt19937_64& rng) {
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> v(n);
  for (double& x : v) x = normal(rng);
  return v;
}

// Plain additions where the kernel's BlockSink adds atomically.
struct CpuSink {
  std::vector<double>&halo, &dweight_sums, &dx, &doffset;
  int64_t halo_cells, taps;
  void halo_add(int k, int32_t cell, double v) { halo.at(size_t(k * halo_cells + cell)) += v; }
  void dx_add(int64_t i, double v) { dx.at(size_t(i)) += v; }
  void doffset_add(int64_t i, double v) { doffset.at(size_t(i)) += v; }
  void dweight_add(int k, int64_t t, double v) { dweight_sums.at(size_t(k * taps + t)) += v; }
};

// A case's operands, random: the offsets at the case's scale.
struct Operands {
  std::vector<double> x, offset, weight, dy;
};
Operands random_operands(const Case& c, std::mt19937_64& rng) {
  DeformGeometry g = c.geometry();
  return {random_values(size_t(c.batch * c.channels * g.height * g.width), 1.0, rng),
          random_values(size_t(c.batch * 2 * g.taps() * g.pixels()), c.offset_scale, rng),
          random_values(size_t(c.channels * g.taps()), 0.5, rng),
          random_values(size_t(c.batch * c.channels * g.pixels()), 1.0, rng)};
}

double max_difference(const std::vector<double>& a, const std::vector<double>& b) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::fmax(worst, std::fabs(a[i] - b[i]));
  return worst;
}

}  // namespace

TEST(forward_threads_match_the_cpu_kernel) {
  std::mt19937_64 rng(7);
  for (const Case& c : kCases) {
    DeformGeometry g = c.geometry();
    int64_t plane = g.height * g.width, offsets = 2 * g.taps() * g.pixels();
    auto [x, offset, weight, dy] = random_operands(c, rng);
    std::vector<double> want(size_t(c.batch * c.channels * g.pixels())), got(want.size(), NAN);
    cpu_ops::deform_depthwise_forward(g, c.batch, x.data(), offset.data(), weight.data(), want.data());
    // Grid: pixels × images × chunks of channels, as forward_kernel, at the
    // chunk the launch takes (small here: these images are tiny) and others.
    int64_t planned = deform_forward_chunk(g, c.batch);
    CHECK(planned >= 1 && planned <= kForwardChannels);
    for (int64_t chunk : {planned, int64_t(kForwardChannels), int64_t(3)}) {
      std::fill(got.begin(), got.end(), NAN);
      for (int64_t n = 0; n < c.batch; ++n)
        for (int64_t c0 = 0; c0 < c.channels; c0 += chunk)
          for (int64_t p = 0; p < g.pixels(); ++p)
            deform_forward_pixel(g, p, c0, std::min(c.channels, c0 + chunk), x.data() + n * c.channels * plane,
                                 offset.data() + n * offsets, weight.data(), got.data() + n * c.channels * g.pixels(),
                                 &kZero);
      CHECK(max_difference(got, want) < 1e-12);
    }
  }
}

namespace {

struct BackwardGrads {
  std::vector<double> dx, doffset, dweight;
  int64_t beyond_halo = 0;  // dx additions that took the global path
};

// backward_kernel's grid run on the CPU: tiles × images × channel groups,
// each block's chunks thread by thread, then its halo and dweight sums
// flushed as the kernel does.
BackwardGrads run_backward_blocks(const Case& c, const DeformTiles& tiles, const std::vector<double>& x,
                                  const std::vector<double>& offset, const std::vector<double>& weight,
                                  const std::vector<double>& dy) {
  DeformGeometry g = c.geometry();
  int64_t plane = g.height * g.width, offsets = 2 * g.taps() * g.pixels();
  BackwardGrads out{std::vector<double>(x.size()), std::vector<double>(offset.size()),
                    std::vector<double>(weight.size())};
  std::vector<double> halo(size_t(tiles.halo_cells() * kBackwardChannels)), sums(size_t(kBackwardChannels * g.taps()));
  for (int64_t n = 0; n < c.batch; ++n)
    for (int64_t tile = 0; tile < tiles.tiles(); ++tile)
      for (int64_t group = 0; group < tiles.groups; ++group) {
        int64_t ty = tile / tiles.tiles_x, tx = tile % tiles.tiles_x, row0, col0;
        deform_halo_origin(g, ty, tx, &row0, &col0);
        std::vector<double> dxn(size_t(c.channels * plane)), doffset_n(static_cast<size_t>(offsets));
        CpuSink sink{halo, sums, dxn, doffset_n, tiles.halo_cells(), g.taps()};
        int64_t group_end = std::min(c.channels, (group + 1) * tiles.channels_per_group);
        for (int64_t c0 = group * tiles.channels_per_group; c0 < group_end; c0 += kBackwardChannels) {
          int64_t c1 = std::min(group_end, c0 + kBackwardChannels);
          for (int64_t thread = 0; thread < kDeformTile * kDeformTile; ++thread) {
            int64_t oy = ty * kDeformTile + thread / kDeformTile, ox = tx * kDeformTile + thread % kDeformTile;
            bool active = oy < g.out_h && ox < g.out_w;
            deform_backward_pixel(g, tiles, row0, col0, active ? oy : 0, active ? ox : 0, active, c0, c1,
                                  x.data() + n * c.channels * plane, offset.data() + n * offsets, weight.data(),
                                  dy.data() + n * c.channels * g.pixels(), &kZero, sink);
          }
          for (double v : dxn) out.beyond_halo += v != 0;
          for (int64_t k = 0; k < c1 - c0; ++k)
            for (int64_t cell = 0; cell < tiles.halo_cells(); ++cell) {
              double& sum = halo[size_t(k * tiles.halo_cells() + cell)];
              int64_t pixel = deform_halo_pixel(g, tiles, row0, col0, cell);
              if (pixel >= 0) dxn[size_t((c0 + k) * plane + pixel)] += sum;
              else CHECK(sum == 0);  // nothing scatters outside the image
              sum = 0;
            }
          for (int64_t i = 0; i < (c1 - c0) * g.taps(); ++i) {
            out.dweight[size_t(c0 * g.taps() + i)] += sums[size_t(i)];
            sums[size_t(i)] = 0;
          }
        }
        for (size_t i = 0; i < dxn.size(); ++i) out.dx[size_t(n * c.channels * plane) + i] += dxn[i];
        for (size_t i = 0; i < doffset_n.size(); ++i) out.doffset[size_t(n * offsets) + i] += doffset_n[i];
      }
  return out;
}

}  // namespace

TEST(backward_blocks_match_the_cpu_kernel) {
  std::mt19937_64 rng(11);
  for (const Case& c : kCases) {
    DeformGeometry g = c.geometry();
    DeformTiles tiles = deform_tiles(g, c.batch, sizeof(float));
    CHECK(tiles.halo_cells() > 0);
    CHECK(deform_backward_shared_bytes(g, tiles, sizeof(float)) <= kDeformSharedBytes);
    CHECK(tiles.groups * tiles.channels_per_group >= c.channels);
    CHECK((tiles.groups - 1) * tiles.channels_per_group < c.channels);
    auto [x, offset, weight, dy] = random_operands(c, rng);
    std::vector<double> want_dx(x.size()), want_doffset(offset.size()), want_dweight(weight.size());
    cpu_ops::deform_depthwise_backward(g, c.batch, x.data(), offset.data(), weight.data(), dy.data(), want_dx.data(),
                                       want_doffset.data(), want_dweight.data());
    // As planned, then with no halo (where it would not fit in shared memory): every scatter global.
    DeformTiles no_halo = tiles;
    no_halo.halo_rows = no_halo.halo_cols = 0;
    for (const DeformTiles& t : {tiles, no_halo}) {
      BackwardGrads got = run_backward_blocks(c, t, x, offset, weight, dy);
      CHECK(max_difference(got.dx, want_dx) < 1e-10);
      CHECK(max_difference(got.doffset, want_doffset) < 1e-10);
      CHECK(max_difference(got.dweight, want_dweight) < 1e-10);
      if (c.offset_scale > 2 || t.halo_cells() == 0) CHECK(got.beyond_halo > 0);  // the global path ran
    }
  }
}

// Samples outside the image read zeros, not pixel 0 times a zero weight: an
// infinite pixel the samples never reach stays out of every output (the CPU
// kernels, planar in double and channels-last in float, and the CUDA threads).
TEST(outside_samples_read_zero_whatever_pixel_0_holds) {
  Case c{1, 8, 9, 9, 3, 1, 1, 1, 0.0};
  DeformGeometry g = c.geometry();
  int64_t plane = g.height * g.width, offsets = 2 * g.taps() * g.pixels();
  std::vector<double> x(size_t(c.channels * plane), 1.0), offset(size_t(offsets), -50.0),
      weight(size_t(c.channels * g.taps()), 1.0);
  for (int64_t ch = 0; ch < c.channels; ++ch) x[size_t(ch * plane)] = INFINITY;
  std::vector<double> y(size_t(c.channels * g.pixels()), NAN), threads(y.size(), NAN);
  cpu_ops::deform_depthwise_forward(g, 1, x.data(), offset.data(), weight.data(), y.data());
  for (int64_t p = 0; p < g.pixels(); ++p)
    deform_forward_pixel(g, p, 0, c.channels, x.data(), offset.data(), weight.data(), threads.data(), &kZero);
  std::vector<float> xf(x.begin(), x.end()), offsetf(offset.begin(), offset.end()),
      weightf(weight.begin(), weight.end());
  std::vector<float> yf(y.size(), NAN);
  cpu_ops::deform_depthwise_forward(g, 1, xf.data(), offsetf.data(), weightf.data(), yf.data());
  for (size_t i = 0; i < y.size(); ++i) {
    CHECK_EQ(y[i], 0.0);
    CHECK_EQ(threads[i], 0.0);
    CHECK_EQ(yf[i], 0.0f);
  }
}

TEST(halo_cells_and_pixels_are_inverse) {
  Case c = kCases[0];
  DeformGeometry g = c.geometry();
  DeformTiles tiles = deform_tiles(g, c.batch, sizeof(float));
  for (int64_t tile = 0; tile < tiles.tiles(); ++tile) {
    int64_t row0, col0;
    deform_halo_origin(g, tile / tiles.tiles_x, tile % tiles.tiles_x, &row0, &col0);
    for (int64_t y = -3; y < g.height + 3; ++y)
      for (int64_t x = -3; x < g.width + 3; ++x) {
        int64_t cell = deform_halo_cell(tiles, row0, col0, y, x);
        if (cell < 0) continue;
        bool in_image = y >= 0 && y < g.height && x >= 0 && x < g.width;
        CHECK_EQ(deform_halo_pixel(g, tiles, row0, col0, cell), in_image ? y * g.width + x : -1);
      }
  }
}

TEST(backward_tiles_fill_the_gpu_and_fit_its_shared_memory) {
  // The network's shapes at 448², batch 4 and 1, and a halo too big for shared memory.
  for (int64_t batch : {1, 4})
    for (auto [channels, size, kernel, pad, dilation] : {std::tuple{32, 224, 7, 9, 3},
                                                         {32, 224, 5, 2, 1},
                                                         {64, 56, 7, 9, 3},
                                                         {128, 28, 7, 9, 3},
                                                         {128, 28, 5, 2, 1}}) {
      Case c{batch, channels, size, size, kernel, 1, pad, dilation, 1.0};
      DeformGeometry g = c.geometry();
      DeformTiles tiles = deform_tiles(g, batch, sizeof(float));
      CHECK(tiles.halo_cells() > 0);
      CHECK(batch * tiles.tiles() * tiles.groups >=
            std::min<int64_t>(kDeformTargetBlocks, batch * tiles.tiles() * (channels / kBackwardChannels)));
    }
  Case wide{1, 8, 64, 64, 9, 1, 32, 8, 1.0};
  DeformTiles tiles = deform_tiles(wide.geometry(), 1, sizeof(double));
  CHECK_EQ(tiles.halo_cells(), 0);
  CHECK_EQ(deform_backward_shared_bytes(wide.geometry(), tiles, sizeof(double)), 9 * 9 * kBackwardChannels * 8);
}

int main() { return dmdlk::test::run_all(); }
