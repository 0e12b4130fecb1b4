// Moving data without arithmetic: concatenation and slicing along channels,
// axis permutation, and attention windows (partition and merge). Each one's
// backward is another of them.
#pragma once
#include <vector>

#include "core/host_device.h"
#include "core/index_divisor.h"
#include "core/tensor.h"

namespace dmdlk {

// Copies of many tensors of one device (the trainer's keep of BatchNorm's
// statistics before a step): on CUDA a launch per 128, not one per tensor.
std::vector<Tensor> clone_all(const std::vector<Tensor>& tensors);
// New tensors of `shapes`, zero (gradients that kernels add into): on CUDA a
// launch per 128, not a memset each.
std::vector<Tensor> zeros_all(const std::vector<Shape>& shapes, DType dtype, Device device);

// Along axis 1 of tensors [N, C_i, ...] with equal other axes.
Tensor concat_channels(const std::vector<Tensor>& parts);
// x [N, C, ...] cut along axis 1 into parts of `channels` each (concat's backward).
// Where into[i] is given (a gradient the part already has), part i is added
// into it in place and it is returned as the part (graph.cpp: a value read twice).
std::vector<Tensor> split_channels(const Tensor& x, const std::vector<int64_t>& channels,
                                   const std::vector<Tensor>& into = {});
// Channels [begin, end) of x [N, C, ...].
Tensor slice_channels(const Tensor& x, int64_t begin, int64_t end);
// The gradient of a slice: dy placed at channels [begin, begin + Cdy) of zeros shaped like x.
// dx_into, where given, gets the slice's gradient added (its other channels unchanged).
Tensor slice_channels_backward(const Tensor& dy, const Shape& x_shape, int64_t begin, const Tensor& dx_into = Tensor());

constexpr int kMaxPermuteRank = 6;
// out axis i = in axis perm[i]; the backward is permute with the inverse.
// `addend`, where given, is added to the result (of its shape, or its size).
Tensor permute(const Tensor& x, const std::vector<int>& perm, const Tensor& addend = Tensor());
std::vector<int> inverse_permutation(const std::vector<int>& perm);

// [B, C, H, W] -> tokens [B·nW, wh·ww, C]: windows and tokens in row-major order.
Tensor window_partition(const Tensor& x, int64_t wh, int64_t ww);
// The inverse: tokens [B·nW, wh·ww, C] -> [B, C, H, W], plus `residual`
// [B, C, H, W] where given, in the same pass (a block's skip connection).
Tensor window_merge(const Tensor& tokens, int64_t batch, int64_t height, int64_t width, int64_t wh, int64_t ww,
                    const Tensor& residual = Tensor());

struct PermutePlan {
  int rank = 0;
  IndexDivisor out_size[kMaxPermuteRank];   // the output's extents, as divisors (core/index_divisor.h)
  int64_t in_stride[kMaxPermuteRank] = {};  // stride in the input of each output axis
};

DMDLK_HD int64_t permuted_offset(const PermutePlan& p, int64_t index) {
  int64_t off = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    int64_t coord;
    index = p.out_size[d].divide(index, coord);
    off += coord * p.in_stride[d];
  }
  return off;
}

}  // namespace dmdlk
