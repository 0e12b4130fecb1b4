// Permutation (a gather over ops/layout.h's index math) and channel-block copies.
#include "cuda_check.cuh"
#include "ops/layout.h"

namespace dmdlk::cuda_ops {

namespace {

template <typename T>
__global__ void permute_kernel(PermutePlan plan, int64_t n, const T* x, T* y) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x)
    y[i] = x[permuted_offset(plan, i)];
}

template <typename T>
__global__ void copy_channels_kernel(int64_t batch, int64_t inner, const T* src, int64_t sc, int64_t sb, T* dst,
                                     int64_t dc, int64_t db, int64_t count) {
  int64_t n = batch * count * inner;
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n; i += int64_t(gridDim.x) * blockDim.x) {
    int64_t e = i % inner, k = (i / inner) % count, b = i / (inner * count);
    dst[(b * dc + db + k) * inner + e] = src[(b * sc + sb + k) * inner + e];
  }
}

}  // namespace

template <typename T>
void permute(int device, const PermutePlan& plan, int64_t n, const T* x, T* y) {
  if (n == 0) return;
  DeviceGuard guard(device);
  permute_kernel<T><<<blocks_for(n), 256, 0, stream(device)>>>(plan, n, x, y);
  check_launch(device, "permute");
}

template <typename T>
void copy_channels(int device, int64_t batch, int64_t inner, const T* src, int64_t src_channels, int64_t src_begin,
                   T* dst, int64_t dst_channels, int64_t dst_begin, int64_t count) {
  DeviceGuard guard(device);
  copy_channels_kernel<T><<<blocks_for(batch * count * inner), 256, 0, stream(device)>>>(
      batch, inner, src, src_channels, src_begin, dst, dst_channels, dst_begin, count);
  check_launch(device, "copy_channels");
}

template void permute<float>(int, const PermutePlan&, int64_t, const float*, float*);
template void permute<double>(int, const PermutePlan&, int64_t, const double*, double*);
template void copy_channels<float>(int, int64_t, int64_t, const float*, int64_t, int64_t, float*, int64_t, int64_t, int64_t);
template void copy_channels<double>(int, int64_t, int64_t, const double*, int64_t, int64_t, double*, int64_t, int64_t, int64_t);

}  // namespace dmdlk::cuda_ops
