#include "ops/bias.h"

#include "core/thread_pool.h"
#include "ops/backend.h"

namespace dmdlk::cpu_ops {

template <typename T>
void add_bias(const ChannelLayout& l, const T* bias, T* y) {
  parallel_for(0, l.outer * l.channels, std::max<int64_t>(1, 16384 / l.inner), [&](int64_t lo, int64_t hi) {
    for (int64_t row = lo; row < hi; ++row) {
      T b = bias[row % l.channels];
      T* p = y + row * l.inner;
      for (int64_t i = 0; i < l.inner; ++i) p[i] += b;
    }
  });
}

template <typename T>
void bias_grad(const ChannelLayout& l, const T* dy, T* grad) {
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

#define INSTANTIATE(T)                                           \
  template void add_bias<T>(const ChannelLayout&, const T*, T*); \
  template void bias_grad<T>(const ChannelLayout&, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cpu_ops
