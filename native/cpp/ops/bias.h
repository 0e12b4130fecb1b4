// A per-channel bias over a [outer, channels, inner] layout: [rows, out] for
// linear (inner = 1), [N, C, H·W] for convolution (outer = N).
#pragma once
#include <cstdint>

namespace dmdlk {

struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
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
