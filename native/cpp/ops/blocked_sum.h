// A float sum that vectorizes and stays accurate: the statistics of
// BatchNorm and LayerNorm and the global average pool.
#pragma once
#include <algorithm>
#include <cstdint>

namespace dmdlk {

// Σ term(i) over [0, n): 8 lanes of T over blocks of 256 terms (a loop the
// compiler vectorizes, each lane summing at most 32 terms), the blocks added
// in double.
template <typename T, typename Term>
double blocked_sum(int64_t n, Term term) {
  double total = 0;
  for (int64_t b0 = 0; b0 < n; b0 += 256) {
    int64_t b1 = std::min(n, b0 + 256), i = b0;
    T lanes[8] = {};
    for (; i + 8 <= b1; i += 8)
      for (int l = 0; l < 8; ++l) lanes[l] += term(i + l);
    for (; i < b1; ++i) lanes[0] += term(i);
    for (T lane : lanes) total += double(lane);
  }
  return total;
}

}  // namespace dmdlk
