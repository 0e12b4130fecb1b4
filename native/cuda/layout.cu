// Permutation (a gather over ops/layout.h's index math) and channel-block copies.
#include "cuda_check.cuh"
#include "gpu/layout.h"
#include "ops/backend.h"

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
  launch(device, plan_permute(n, sizeof(T)), permute_kernel<T>, plan, n, x, y);
}

template <typename T>
void copy_channels(int device, int64_t batch, int64_t inner, const T* src, int64_t src_channels, int64_t src_begin,
                   T* dst, int64_t dst_channels, int64_t dst_begin, int64_t count) {
  if (batch * count * inner == 0) return;
  launch(device, plan_copy_channels(batch, inner, count, sizeof(T)), copy_channels_kernel<T>, batch, inner, src,
         src_channels, src_begin, dst, dst_channels, dst_begin, count);
}

namespace {

__global__ void __launch_bounds__(kListThreads) copy_bytes_all_kernel(TensorList<uint8_t, 2> list) {
  const ListChunk c = list.locate(blockIdx.x);
  uint8_t* to = list.data[0][c.tensor];
  const uint8_t* from = list.data[1][c.tensor];
  for (int64_t i = c.begin + threadIdx.x; i < c.end; i += kListThreads) to[i] = from[i];
}

}  // namespace

void copy_bytes_all(int device, const std::vector<TensorList<uint8_t, 2>>& lists) {
  std::vector<int64_t> bytes;
  for (const TensorList<uint8_t, 2>& l : lists) bytes.insert(bytes.end(), l.size, l.size + l.count);
  std::vector<cuda::LaunchPlan> plans = plan_copy_bytes_all(bytes);
  check_list_plans(plans, lists);
  for (size_t i = 0; i < lists.size(); ++i) launch(device, plans[i], copy_bytes_all_kernel, lists[i]);
}

#define INSTANTIATE(T)                                                      \
  template void permute<T>(int, const PermutePlan&, int64_t, const T*, T*); \
  template void copy_channels<T>(int, int64_t, int64_t, const T*, int64_t, int64_t, T*, int64_t, int64_t, int64_t);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
