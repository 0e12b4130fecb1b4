// Index arithmetic of broadcasting binary ops (numpy rules, shapes aligned at
// the last axis), shared by both backends.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "core/index_divisor.h"
#include "core/tensor.h"

namespace dmdlk {

constexpr int kMaxBroadcastRank = 8;

// out[i] = f(a[a_offset(i)], b[b_offset(i)]). The extents are divisors
// (core/index_divisor.h): an element's coordinates are divisions of its index.
struct BroadcastPlan {
  int rank = 0;
  IndexDivisor out_size[kMaxBroadcastRank];
  int64_t a_stride[kMaxBroadcastRank] = {};  // 0 on axes where a is broadcast
  int64_t b_stride[kMaxBroadcastRank] = {};
};

// The gradient of a broadcast operand: for each element t of the operand,
// the sum over the `reduce_count` output elements that read it.
struct ReducePlan {
  int rank = 0;
  IndexDivisor target_size[kMaxBroadcastRank];   // the operand's extents (1 where broadcast)
  IndexDivisor reduce_size[kMaxBroadcastRank];   // the output's extent where the operand has 1, else 1
  int64_t out_stride[kMaxBroadcastRank] = {};    // contiguous strides of the output
  int64_t other_stride[kMaxBroadcastRank] = {};  // the other operand's strides over output coordinates
  int64_t reduce_count = 1;
};

// The shape of a ⊕ b; throws ERR_SHAPE naming both shapes when they do not broadcast.
Shape broadcast_shape(const Shape& a, const Shape& b, const char* op);
// Plans for a ⊕ b and for the gradient of the operand shaped `target`
// (reading `other`, which may be absent). Both coalesce axes: size-1 axes are
// dropped and neighbours with the same broadcast pattern merged, so equal
// shapes index as one flat axis and [B, C, H, W] ⊙ [B, C, 1, 1] as two.
BroadcastPlan make_broadcast_plan(const Shape& a, const Shape& b, const char* op);
ReducePlan make_reduce_plan(const Shape& out, const Shape& target, const Shape* other);

DMDLK_HD void broadcast_offsets(const BroadcastPlan& p, int64_t index, int64_t* a_off, int64_t* b_off) {
  int64_t ao = 0, bo = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    int64_t coord;
    index = p.out_size[d].divide(index, coord);
    ao += coord * p.a_stride[d];
    bo += coord * p.b_stride[d];
  }
  *a_off = ao;
  *b_off = bo;
}

// Output and other-operand offsets of the r-th output element that reads target element t.
DMDLK_HD void reduce_offsets(const ReducePlan& p, int64_t t, int64_t r, int64_t* out_off, int64_t* other_off) {
  int64_t oo = 0, bo = 0;
  for (int d = p.rank - 1; d >= 0; --d) {
    // On each axis either the target or the reduction varies, never both.
    int64_t t_coord, r_coord;
    t = p.target_size[d].divide(t, t_coord);
    r = p.reduce_size[d].divide(r, r_coord);
    const int64_t coord = t_coord + r_coord;
    oo += coord * p.out_stride[d];
    bo += coord * p.other_stride[d];
  }
  *out_off = oo;
  *other_off = bo;
}

}  // namespace dmdlk
