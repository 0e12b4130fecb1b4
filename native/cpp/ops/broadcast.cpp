#include "ops/broadcast.h"

namespace dmdlk {

namespace {
// `shape` right-aligned to `rank` axes, padded with leading 1s.
void align(const Shape& shape, int rank, int64_t* out) {
  int pad = rank - static_cast<int>(shape.size());
  for (int d = 0; d < rank; ++d) out[d] = d < pad ? 1 : shape[d - pad];
}

}  // namespace

Shape broadcast_shape(const Shape& a, const Shape& b, const char* op) {
  int rank = static_cast<int>(std::max(a.size(), b.size()));
  DMDLK_CHECK(rank <= kMaxBroadcastRank, ErrorCode::Shape, op, ": at most ", kMaxBroadcastRank,
              " axes are supported, got ", rank);
  int64_t as[kMaxBroadcastRank], bs[kMaxBroadcastRank];
  align(a, rank, as);
  align(b, rank, bs);
  Shape out(static_cast<size_t>(rank), 0);
  for (int d = 0; d < rank; ++d) {
    DMDLK_CHECK(as[d] == bs[d] || as[d] == 1 || bs[d] == 1, ErrorCode::Shape, op, ": shapes ", shape_str(a),
                " (a) and ", shape_str(b), " (b) do not broadcast");
    out[size_t(d)] = as[d] == 1 ? bs[d] : as[d];
  }
  return out;
}

namespace {

// Axes of `out` with, per operand, whether it is broadcast there; size-1 axes
// dropped and runs of equal patterns merged. sizes[i] is the merged extent.
struct Coalesced {
  int rank = 0;
  int64_t size[kMaxBroadcastRank];
  bool first_broadcast[kMaxBroadcastRank], second_broadcast[kMaxBroadcastRank];
};

Coalesced coalesce(const Shape& out, const Shape& first, const Shape* second) {
  int rank = int(out.size());
  int64_t fs[kMaxBroadcastRank], ss[kMaxBroadcastRank];
  align(first, rank, fs);
  align(second ? *second : out, rank, ss);
  Coalesced c;
  for (int d = 0; d < rank; ++d) {
    if (out[size_t(d)] == 1) continue;
    bool fb = fs[d] == 1, sb = second ? ss[d] == 1 : false;
    if (c.rank > 0 && c.first_broadcast[c.rank - 1] == fb && c.second_broadcast[c.rank - 1] == sb) {
      c.size[c.rank - 1] *= out[size_t(d)];
    } else {
      c.size[c.rank] = out[size_t(d)], c.first_broadcast[c.rank] = fb, c.second_broadcast[c.rank] = sb;
      ++c.rank;
    }
  }
  if (c.rank == 0) c.size[0] = 1, c.first_broadcast[0] = c.second_broadcast[0] = false, c.rank = 1;
  return c;
}

// Contiguous strides over the coalesced sizes, 0 on broadcast axes.
void coalesced_strides(const Coalesced& c, const bool* broadcast, int64_t* stride) {
  int64_t s = 1;
  for (int d = c.rank - 1; d >= 0; --d) {
    stride[d] = broadcast[d] ? 0 : s;
    if (!broadcast[d]) s *= c.size[d];
  }
}

}  // namespace

BroadcastPlan make_broadcast_plan(const Shape& a, const Shape& b, const char* op) {
  Shape out = broadcast_shape(a, b, op);
  Coalesced c = coalesce(out, a, &b);
  BroadcastPlan p;
  p.rank = c.rank;
  for (int d = 0; d < c.rank; ++d) p.out_size[d] = IndexDivisor::of(c.size[d]);
  coalesced_strides(c, c.first_broadcast, p.a_stride);
  coalesced_strides(c, c.second_broadcast, p.b_stride);
  return p;
}

ReducePlan make_reduce_plan(const Shape& out, const Shape& target, const Shape* other) {
  Coalesced c = coalesce(out, target, other);
  ReducePlan p;
  p.rank = c.rank;
  int64_t s = 1;
  for (int d = c.rank - 1; d >= 0; --d) p.out_stride[d] = s, s *= c.size[d];
  coalesced_strides(c, c.second_broadcast, p.other_stride);
  for (int d = 0; d < c.rank; ++d) {
    p.target_size[d] = IndexDivisor::of(c.first_broadcast[d] ? 1 : c.size[d]);
    p.reduce_size[d] = IndexDivisor::of(c.first_broadcast[d] ? c.size[d] : 1);
    p.reduce_count *= p.reduce_size[d].d;
  }
  return p;
}

}  // namespace dmdlk
