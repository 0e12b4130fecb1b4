// Every op's definition, by kind. The definitions live beside their ops; this
// table is the one place that lists them, and its order is OpKind's.
#include <iterator>

#include "ops/op.h"

namespace dmdlk {

extern const OpDef add_op, mul_op, matmul_op, linear_op, conv2d_op, deform_conv2d_op, activation_op, softmax_op,
    batch_norm_op, layer_norm_op, attention_op, avg_pool2d_op, max_pool2d_op, global_avg_pool_op, channel_mean_op,
    channel_max_op, channel_pool_op, upsample2x_op, concat_op, slice_op, reshape_op, window_partition_op,
    window_merge_op, cross_entropy_op, dice_loss_op;

namespace {

const OpDef* const kOps[] = {
    &add_op,          &mul_op,
    &matmul_op,       &linear_op,
    &conv2d_op,       &deform_conv2d_op,
    &activation_op,   &softmax_op,
    &batch_norm_op,   &layer_norm_op,
    &attention_op,    &avg_pool2d_op,
    &max_pool2d_op,   &global_avg_pool_op,
    &channel_mean_op, &channel_max_op,
    &channel_pool_op, &upsample2x_op,
    &concat_op,       &slice_op,
    &reshape_op,      &window_partition_op,
    &window_merge_op, &cross_entropy_op,
    &dice_loss_op,
};
static_assert(std::size(kOps) == size_t(OpKind::Count), "every OpKind needs its OpDef in kOps, in OpKind's order");

}  // namespace

const OpDef& op_def(OpKind kind) {
  DMDLK_CHECK(size_t(kind) < std::size(kOps), ErrorCode::Internal, "no op of kind ", int(kind));
  return *kOps[size_t(kind)];
}

const OpDef& op_def(const std::string& name) {
  for (const OpDef* d : kOps)
    if (name == d->name) return *d;
  throw Error(ErrorCode::InvalidArg, concat("no op named '", name, "'"));
}

double shapes_bytes(const std::vector<Shape>& shapes, DType dtype) {
  double bytes = 0;
  for (const Shape& s : shapes) bytes += double(shape_numel(s)) * double(dtype_size(dtype));
  return bytes;
}

}  // namespace dmdlk
