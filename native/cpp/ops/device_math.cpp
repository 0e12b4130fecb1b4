#include "ops/device_math.h"

#include "ops/op_checks.h"

namespace dmdlk {

template <typename T>
void gemm(Device d, const GemmShape& s, T alpha, const T* a, const T* b, T beta, T* c) {
  if (d.is_cpu()) cpu_gemm(s, alpha, a, b, beta, c);
  else DMDLK_CUDA_DISPATCH(cuda_ops::gemm(d.index, s, alpha, a, b, beta, c));
}

template <typename T>
void add_bias(Device d, const ChannelLayout& l, const T* bias, T* y) {
  if (d.is_cpu()) cpu_add_bias(l, bias, y);
  else DMDLK_CUDA_DISPATCH(cuda_ops::add_bias(d.index, l, bias, y));
}

template <typename T>
void bias_grad(Device d, const ChannelLayout& l, const T* dy, T* grad) {
  if (d.is_cpu()) cpu_bias_grad(l, dy, grad);
  else DMDLK_CUDA_DISPATCH(cuda_ops::bias_grad(d.index, l, dy, grad));
}

#define DMDLK_INSTANTIATE(T)                                                                 \
  template void gemm<T>(Device, const GemmShape&, T, const T*, const T*, T, T*);           \
  template void add_bias<T>(Device, const ChannelLayout&, const T*, T*);                   \
  template void bias_grad<T>(Device, const ChannelLayout&, const T*, T*);
DMDLK_INSTANTIATE(float)
DMDLK_INSTANTIATE(double)
#undef DMDLK_INSTANTIATE

}  // namespace dmdlk
