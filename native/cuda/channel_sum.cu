// Per-channel sums of one term (bias gradients, broadcast gradients, global
// average pooling): one reduction kernel for all of them and both element
// types, instead of one per caller and type.
#include "cuda/floats.cuh"
#include "cuda/reduce_kernels.cuh"
#include "cuda_check.cuh"
#include "gpu/reduce.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

// dy at (o, c, i), times `other` at its strides where given; where
// other_grad is given, it gets dy · self[c] at (o, c, i) (each element is
// read once).
struct SumTerm {
  FloatsIn dy, other, self;
  FloatsOut other_grad;
  ChannelLayout l;
  int64_t so, sc, si;
  __device__ double operator()(int64_t o, int64_t c, int64_t i) const {
    const int64_t e = (o * l.channels + c) * l.inner + i;
    double g = dy[e];
    if (other_grad.data) other_grad.set(e, g * self[c]);
    return other.empty() ? g : g * other[o * so + c * sc + i * si];
  }
};

struct StoreQuotient {
  FloatsOut out;
  double divisor;
  __device__ void operator()(int64_t c, double total) const { out.set(c, total / divisor); }
};

}  // namespace

template <typename T>
void channel_sum(int device, const std::string& what, const ChannelLayout& l, const T* dy, const T* other,
                 const int64_t* other_strides, double divisor, T* out, const T* self, T* other_grad) {
  const int64_t none[3] = {0, 0, 0};
  const int64_t* s = other ? other_strides : none;
  channel_reduce<double>(device, what, l, sizeof(T), (other ? 2 : 1) + (other_grad ? 1 : 0), sizeof(T),
                         SumTerm{FloatsIn::of(dy), FloatsIn::of(other), FloatsIn::of(self), FloatsOut::of(other_grad),
                                 l, s[0], s[1], s[2]},
                         StoreQuotient{FloatsOut::of(out), divisor});
}

#define INSTANTIATE(T)                                                                                            \
  template void channel_sum<T>(int, const std::string&, const ChannelLayout&, const T*, const T*, const int64_t*, \
                               double, T*, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
