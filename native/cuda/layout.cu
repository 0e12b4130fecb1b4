// Permutation (a gather over ops/layout.h's index math) and copies of byte runs.
#include "cuda_check.cuh"
#include "gpu/layout.h"
#include "ops/backend.h"

namespace dmdlk::cuda_ops {

namespace {

// Called, not inlined: the compiler copies an inlined body into each case
// of the addend.
__device__ __noinline__ int64_t source_offset(const PermutePlan& plan, int64_t index) {
  return permuted_offset(plan, index);
}

// The plan stays in the kernel's parameters (__grid_constant__): the called
// function reads it there, with no copy per thread.
template <typename T>
__global__ void permute_kernel(const __grid_constant__ PermutePlan plan, int64_t n, const T* x, const T* addend, T* y) {
  DMDLK_GRID_LOOP(i, n) {
    const T value = x[source_offset(plan, i)];
    y[i] = addend ? value + addend[i] : value;
  }
}

}  // namespace

template <typename T>
void permute(int device, const PermutePlan& plan, int64_t n, const T* x, const T* addend, T* y) {
  if (n == 0) return;
  launch(device, plan_permute(n, sizeof(T), addend != nullptr), permute_kernel<T>, plan, n, x, addend, y);
}

namespace {

// Words of `Word` from the start of a chunk (from `from`, or zeros where it
// is null); returns the bytes written.
template <typename Word>
__device__ int64_t copy_words(uint8_t* to, const uint8_t* from, int64_t bytes) {
  const int64_t words = bytes / int64_t(sizeof(Word));
  for (int64_t i = threadIdx.x; i < words; i += kListThreads)
    reinterpret_cast<Word*>(to)[i] = from ? reinterpret_cast<const Word*>(from)[i] : Word{};
  return words * int64_t(sizeof(Word));
}

// A chunk copied (or zeroed where `from` is null): 16-byte words where both
// ends are aligned, else 4-byte ones, then the tail byte by byte.
__device__ void copy_chunk(uint8_t* to, const uint8_t* from, int64_t bytes) {
  const uintptr_t ends = reinterpret_cast<uintptr_t>(to) | reinterpret_cast<uintptr_t>(from);
  const int64_t done = ends % 16 == 0  ? copy_words<uint4>(to, from, bytes)
                       : ends % 4 == 0 ? copy_words<uint32_t>(to, from, bytes)
                                       : 0;
  for (int64_t i = done + threadIdx.x; i < bytes; i += kListThreads) to[i] = from ? from[i] : 0;
}

// A chunk of `Element`s added into `to`.
template <typename Element>
__device__ void add_chunk(uint8_t* to, const uint8_t* from, int64_t bytes) {
  const int64_t n = bytes / int64_t(sizeof(Element));
  for (int64_t i = threadIdx.x; i < n; i += kListThreads)
    reinterpret_cast<Element*>(to)[i] += reinterpret_cast<const Element*>(from)[i];
}

__global__ void __launch_bounds__(kListThreads) copy_bytes_all_kernel(TensorList<uint8_t, 2> list, bool f64) {
  const ListChunk c = list.locate(blockIdx.x);
  uint8_t* to = list.data[0][c.tensor] + c.begin;
  const uint8_t* from = list.data[1][c.tensor] + c.begin;
  if (!list.flagged(c.tensor)) copy_chunk(to, from, c.end - c.begin);
  else if (f64) add_chunk<double>(to, from, c.end - c.begin);
  else add_chunk<float>(to, from, c.end - c.begin);
}

__global__ void __launch_bounds__(kListThreads) zero_bytes_all_kernel(TensorList<uint8_t, 1> list) {
  const ListChunk c = list.locate(blockIdx.x);
  copy_chunk(list.data[0][c.tensor] + c.begin, nullptr, c.end - c.begin);
}

}  // namespace

void copy_bytes_all(int device, const std::vector<TensorList<uint8_t, 2>>& lists, bool f64) {
  const std::vector<cuda::LaunchPlan> plans = list_plans(lists, plan_copy_bytes_all);
  for (size_t i = 0; i < lists.size(); ++i) launch(device, plans[i], copy_bytes_all_kernel, lists[i], f64);
}

void zero_bytes_all(int device, const std::vector<TensorList<uint8_t, 1>>& lists) {
  const std::vector<cuda::LaunchPlan> plans = list_plans(lists, plan_zero_bytes_all);
  for (size_t i = 0; i < lists.size(); ++i) launch(device, plans[i], zero_bytes_all_kernel, lists[i]);
}

#define INSTANTIATE(T) template void permute<T>(int, const PermutePlan&, int64_t, const T*, const T*, T*);
DMDLK_INSTANTIATE_FLOATING(INSTANTIATE)

}  // namespace dmdlk::cuda_ops
