#include "ops/bias.h"

#include "core/thread_pool.h"

namespace dmdlk {

template <typename T>
void cpu_add_bias(const ChannelLayout& l, const T* bias, T* y) {
  parallel_for(0, l.outer * l.channels, std::max<int64_t>(1, 16384 / l.inner), [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      T b = bias[row % l.channels];
      T* p = y + row * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) p[i] += b;
    }
  });
}

template <typename T>
void cpu_bias_grad(const ChannelLayout& l, const T* dy, T* grad) {
  parallel_for(0, l.channels, 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c) {
      T sum = 0;
      for (int64_t o = 0; o < l.outer; ++o) {
        const T* p = dy + (o * l.channels + c) * l.inner;
        for (int64_t i = 0; i < l.inner; ++i) sum += p[i];
      }
      grad[c] = sum;
    }
  });
}

template void cpu_add_bias<float>(const ChannelLayout&, const float*, float*);
template void cpu_add_bias<double>(const ChannelLayout&, const double*, double*);
template void cpu_bias_grad<float>(const ChannelLayout&, const float*, float*);
template void cpu_bias_grad<double>(const ChannelLayout&, const double*, double*);

}  // namespace dmdlk
