// Division of a tensor index by a divisor fixed before a kernel runs (an
// extent of the tensor) as a multiply-high, an addition and a shift. A GPU
// has no integer division: for `int64_t` operands nvcc emits a test of their
// high bits, a 32-bit division of ~20 instructions where they fit and the
// 64-bit routine (~70, ~1.5 KB of code in every kernel that divides) where
// not; an element-wise kernel's index math is mostly divisions.
//
// Granlund and Montgomery's method ("Division by invariant integers using
// multiplication", 1994, unsigned division by a run-time invariant): with
// l = ceil(log2 d) and m = floor(2^64 (2^l − d) / d) + 1, which fits in 64
// bits since 2^l < 2d, n / d = (mulhi(n, m) + n) >> l for every n < 2^64
// where the sum does not overflow — every index n < 2^63, as mulhi(n, m) ≤ n.
// For d = 1: l = 0, m = 1, mulhi(n, 1) = 0. test_core checks it against `/`
// and `%` on edge and random values of both. An extent of 0 keeps d = 0 (the
// plans read their extents from `d`) and is never divided by: no index lies
// in it.
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace dmdlk {

struct IndexDivisor {
  int64_t d = 1;   // the divisor: an extent, 0 or more
  uint64_t m = 1;  // the magic multiplier
  int shift = 0;   // l

  static IndexDivisor of(int64_t extent) {
    IndexDivisor v;
    v.d = extent < 0 ? 0 : extent;
    const uint64_t divisor = v.d < 1 ? 1 : uint64_t(v.d);
    while ((uint64_t(1) << v.shift) < divisor) ++v.shift;
    const unsigned __int128 numerator = static_cast<unsigned __int128>((uint64_t(1) << v.shift) - divisor) << 64;
    v.m = uint64_t(numerator / divisor) + 1;
    return v;
  }
  // n / d, for 0 ≤ n < 2^63.
  DMDLK_HD int64_t divide(int64_t n) const {
#ifdef __CUDA_ARCH__
    const uint64_t high = __umul64hi(uint64_t(n), m);
#else
    const uint64_t high = uint64_t((static_cast<unsigned __int128>(uint64_t(n)) * m) >> 64);
#endif
    return int64_t((high + uint64_t(n)) >> shift);
  }
  // n / d, and n % d into `remainder`.
  DMDLK_HD int64_t divide(int64_t n, int64_t& remainder) const {
    const int64_t q = divide(n);
    remainder = n - q * d;
    return q;
  }
};

// Element i of a stack of height × width planes: its plane, row and column,
// by the planes' extents as divisors (the element-wise kernels over images).
struct PlaneIndex {
  IndexDivisor height, width;
  static PlaneIndex of(int64_t height, int64_t width) { return {IndexDivisor::of(height), IndexDivisor::of(width)}; }
  // The plane of element i, and its row y and column x.
  DMDLK_HD int64_t split(int64_t i, int64_t& y, int64_t& x) const { return height.divide(width.divide(i, x), y); }
};

// Element i of an NCHW tensor: its image, channel, row and column, by the
// extents as divisors; returns its plane (image · channels + channel).
struct ImageIndex {
  PlaneIndex planes;
  IndexDivisor channels;
  static ImageIndex of(int64_t channels, int64_t height, int64_t width) {
    return {PlaneIndex::of(height, width), IndexDivisor::of(channels)};
  }
  DMDLK_HD int64_t split(int64_t i, int64_t& image, int64_t& channel, int64_t& y, int64_t& x) const {
    const int64_t plane = planes.split(i, y, x);
    image = channels.divide(plane, channel);
    return plane;
  }
};

}  // namespace dmdlk
