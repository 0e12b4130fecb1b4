// A per-channel bias over a [outer, channels, inner] layout: [rows, out] for
// linear (inner = 1), [N, C, H·W] for convolution (outer = N).
#pragma once
#include <cstdint>

namespace dmdlk {

struct ChannelLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

// y[o, c, i] += bias[c]
template <typename T>
void cpu_add_bias(const ChannelLayout& l, const T* bias, T* y);
// grad[c] = Σ_{o, i} dy[o, c, i]
template <typename T>
void cpu_bias_grad(const ChannelLayout& l, const T* dy, T* grad);

namespace cuda_ops {
template <typename T>
void add_bias(int device, const ChannelLayout& l, const T* bias, T* y);
template <typename T>
void bias_grad(int device, const ChannelLayout& l, const T* dy, T* grad);
}  // namespace cuda_ops

}  // namespace dmdlk
