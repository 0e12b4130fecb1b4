#include "ops/broadcast.h"

namespace dmdlk {

namespace {
// `shape` right-aligned to `rank` axes, padded with leading 1s.
void align(const Shape& shape, int rank, int64_t* out) {
  int pad = rank - static_cast<int>(shape.size());
  for (int d = 0; d < rank; ++d) out[d] = d < pad ? 1 : shape[d - pad];
}

void strides_of(const int64_t* size, int rank, int64_t* stride, bool zero_broadcast) {
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; --d) {
    stride[d] = (zero_broadcast && size[d] == 1) ? 0 : s;
    s *= size[d];
  }
}
}  // namespace

BroadcastPlan make_broadcast_plan(const Shape& a, const Shape& b, const char* op) {
  BroadcastPlan p;
  p.rank = static_cast<int>(std::max(a.size(), b.size()));
  DMDLK_CHECK(p.rank <= kMaxBroadcastRank, ErrorCode::Shape, op, ": at most ", kMaxBroadcastRank,
              " axes are supported, got ", p.rank);
  int64_t as[kMaxBroadcastRank], bs[kMaxBroadcastRank];
  align(a, p.rank, as);
  align(b, p.rank, bs);
  for (int d = 0; d < p.rank; ++d) {
    DMDLK_CHECK(as[d] == bs[d] || as[d] == 1 || bs[d] == 1, ErrorCode::Shape, op, ": shapes ", shape_str(a),
                " (a) and ", shape_str(b), " (b) do not broadcast");
    p.out_size[d] = as[d] == 1 ? bs[d] : as[d];
  }
  strides_of(as, p.rank, p.a_stride, true);
  strides_of(bs, p.rank, p.b_stride, true);
  return p;
}

Shape broadcast_shape(const BroadcastPlan& plan) { return Shape(plan.out_size, plan.out_size + plan.rank); }

ReducePlan make_reduce_plan(const Shape& out, const Shape& target, const Shape* other) {
  ReducePlan p;
  p.rank = static_cast<int>(out.size());
  int64_t os[kMaxBroadcastRank], bs[kMaxBroadcastRank];
  align(out, p.rank, os);
  align(target, p.rank, p.target_size);
  align(other ? *other : Shape{}, p.rank, bs);
  strides_of(os, p.rank, p.out_stride, false);
  strides_of(bs, p.rank, p.other_stride, true);
  for (int d = 0; d < p.rank; ++d) {
    p.reduce_size[d] = p.target_size[d] == 1 ? os[d] : 1;
    p.reduce_count *= p.reduce_size[d];
  }
  return p;
}

}  // namespace dmdlk
