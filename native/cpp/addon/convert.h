// JavaScript values to C++ arguments and back. Each conversion names the
// argument it reads and throws ERR_INVALID_ARG when the value does not fit.
#pragma once
#include <napi.h>

#include <string>

#include "core/tensor.h"

namespace dmdlk::addon {

Shape to_shape(Napi::Value value, const char* name);
Napi::Array from_shape(Napi::Env env, const Shape& shape);
std::string to_string(Napi::Value value, const char* name);
int64_t to_integer(Napi::Value value, const char* name, int64_t min, int64_t max);
// A finite number; its range is checked by the op that uses it.
double to_number(Napi::Value value, const char* name);
bool to_bool(Napi::Value value, const char* name);
// An optional Tensor argument: undefined/null give an undefined Tensor.
Tensor to_optional_tensor(Napi::Value value, const char* name);

}  // namespace dmdlk::addon
