// CUDA's softmax over the last axis (softmax.cu) and its launch plans. Many
// rows: a block per row (its threads over the row, CUB's block reductions
// for the max and the sum). Few long rows (DMFF's spatial softmax over H·W,
// a handful of rows): each row cut into chunks so that the blocks fill the
// GPU — the chunks' maxima and sums (or, backward, dot products), combined
// by the last chunk of each row to arrive, then every element on its own.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "gpu/launch_plan.h"

namespace dmdlk::cuda_ops {

template <typename T>
void softmax_forward(int device, int64_t rows, int64_t n, const T* x, T* y);
template <typename T>
void softmax_backward(int device, int64_t rows, int64_t n, const T* dy, const T* y, T* dx);

constexpr int64_t kSoftmaxThreads = 256;

// Chunks per row: 1 where the rows alone fill the GPU, else enough to, each
// of at least one element a thread.
inline int64_t softmax_chunks(int64_t rows, int64_t n) {
  int64_t chunks = 1;
  while (rows * chunks < 2 * 132 && cuda::blocks_to_cover(n, chunks * 2) >= kSoftmaxThreads) chunks *= 2;
  return chunks;
}

inline std::vector<cuda::LaunchPlan> plan_softmax(const char* kernel, int64_t rows, int64_t n, int64_t element_bytes,
                                                  int tensors) {
  int64_t chunks = softmax_chunks(rows, n);
  double elements = double(rows) * n;
  cuda::LaunchPlan pieces;
  pieces.kernel = std::string(kernel) + (chunks > 1 ? "_chunks" : "");
  pieces.grid.x = rows * chunks;
  pieces.block.x = kSoftmaxThreads;
  pieces.shared_bytes = 64 * 8;  // CUB's warp totals
  pieces.bytes = elements * element_bytes * (chunks > 1 ? tensors - 1 : tensors);
  pieces.flops = 5.0 * elements;
  pieces.serial_reduction = cuda::blocks_to_cover(cuda::blocks_to_cover(n, chunks), kSoftmaxThreads);
  if (chunks == 1) return {pieces};
  pieces.bytes += double(rows) * chunks * 32;  // the pieces, written and read back by the row's last chunk
  pieces.serial_reduction += 2 * cuda::blocks_to_cover(chunks, 32);  // the last chunk's combination, by a warp
  cuda::LaunchPlan elementwise = cuda::elementwise_plan(std::string(kernel) + "_elements", rows * n,
                                                        elements * element_bytes * tensors, 3.0 * elements);
  return {pieces, elementwise};
}
inline std::vector<cuda::LaunchPlan> plan_softmax_forward(int64_t rows, int64_t n, int64_t element_bytes) {
  return plan_softmax("softmax_forward", rows, n, element_bytes, 2);
}
inline std::vector<cuda::LaunchPlan> plan_softmax_backward(int64_t rows, int64_t n, int64_t element_bytes) {
  return plan_softmax("softmax_backward", rows, n, element_bytes, 3);
}

}  // namespace dmdlk::cuda_ops
