// Argument checks shared by every op's public entry. Each names the op and
// the operand, and says what was expected and what came.
#pragma once
#include <string>

#include "core/tensor.h"

namespace dmdlk {

void check_defined(const Tensor& t, const char* op, const char* name);
// float32 or float64: the dtypes every differentiable op computes in.
void check_floating(const Tensor& t, const char* op, const char* name);
void check_rank(const Tensor& t, int rank, const char* op, const char* name, const char* layout);
// Same dtype and device as `reference`.
void check_compatible(const Tensor& t, const Tensor& reference, const char* op, const char* name,
                      const char* reference_name);
void check_shape(const Tensor& t, const Shape& expected, const char* op, const char* name);
// A gradient to add into in place (WantedGrads::accumulate_into): x's shape,
// dtype and device.
void check_accumulator(const Tensor& into, const Tensor& x, const char* op);
// The tensor a backward writes x's gradient to: `into` where given (checked
// as above; the backward adds to it), else a new one like x.
Tensor gradient_tensor(const Tensor& x, const Tensor& into, const char* op);

// Calls body(T{}) with T = float or double according to `dtype`.
template <typename Body>
void dispatch_floating(DType dtype, Body&& body) {
  if (dtype == DType::F32) body(float{});
  else if (dtype == DType::F64) body(double{});
  else throw Error(ErrorCode::DType, concat("expected float32 or float64, got ", dtype_name(dtype)));
}

}  // namespace dmdlk
