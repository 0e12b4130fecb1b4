#include "ops/op_checks.h"

namespace dmdlk {

void check_defined(const Tensor& t, const char* op, const char* name) {
  DMDLK_CHECK(t.defined(), ErrorCode::InvalidArg, op, ": ", name, " is missing");
}

void check_floating(const Tensor& t, const char* op, const char* name) {
  check_defined(t, op, name);
  DMDLK_CHECK(is_floating(t.dtype()), ErrorCode::DType, op, ": ", name, " must be float32 or float64, got ",
              dtype_name(t.dtype()));
}

void check_rank(const Tensor& t, int rank, const char* op, const char* name, const char* layout) {
  DMDLK_CHECK(t.rank() == rank, ErrorCode::Shape, op, ": ", name, " must have rank ", rank, " (", layout,
              "), got shape ", shape_str(t.shape()));
}

void check_compatible(const Tensor& t, const Tensor& reference, const char* op, const char* name,
                      const char* reference_name) {
  check_defined(t, op, name);
  DMDLK_CHECK(t.dtype() == reference.dtype(), ErrorCode::DType, op, ": ", name, " is ", dtype_name(t.dtype()), " but ",
              reference_name, " is ", dtype_name(reference.dtype()));
  DMDLK_CHECK(t.device() == reference.device(), ErrorCode::Device, op, ": ", name, " is on ", t.device().str(), " but ",
              reference_name, " is on ", reference.device().str());
}

void check_accumulator(const Tensor& into, const Tensor& x, const char* op) {
  check_compatible(into, x, op, "the gradient to add into", "x");
  check_shape(into, x.shape(), op, "the gradient to add into");
}

Tensor gradient_tensor(const Tensor& x, const Tensor& into, const char* op) {
  if (!into.defined()) return Tensor::empty(x.shape(), x.dtype(), x.device());
  check_accumulator(into, x, op);
  return into;
}

void check_shape(const Tensor& t, const Shape& expected, const char* op, const char* name) {
  DMDLK_CHECK(t.shape() == expected, ErrorCode::Shape, op, ": ", name, " must have shape ", shape_str(expected),
              ", got ", shape_str(t.shape()));
}

}  // namespace dmdlk
