// A per-channel bias over a [outer, channels, inner] layout: [rows, out] for
// linear (inner = 1), [N, C, H·W] for convolution (outer = N).
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "core/index_divisor.h"

namespace dmdlk {

struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

// A layout with its extents as divisors (core/index_divisor.h), for kernels
// that find an element's channel, or a group's first element, from an index.
struct ChannelDivisors {
  ChannelLayout l;
  IndexDivisor inner, channels;
  static ChannelDivisors of(const ChannelLayout& l) {
    return {l, IndexDivisor::of(l.inner), IndexDivisor::of(l.channels)};
  }
  // The channel of element e: (e / inner) % channels.
  DMDLK_HD int64_t channel(int64_t e) const {
    int64_t c;
    channels.divide(inner.divide(e), c);
    return c;
  }
  // The first element of group g = o·inner + i (the channels of one pixel): o·channels·inner + i.
  DMDLK_HD int64_t group_start(int64_t g) const {
    int64_t i;
    const int64_t o = inner.divide(g, i);
    return o * l.channels * l.inner + i;
  }
};

namespace cpu_ops {
// y[o, c, i] += bias[c]
template <typename T>
void add_bias(const ChannelLayout& l, const T* bias, T* y);
// grad[c] = Σ_{o, i} dy[o, c, i]
template <typename T>
void bias_grad(const ChannelLayout& l, const T* dy, T* grad);
}  // namespace cpu_ops

}  // namespace dmdlk
