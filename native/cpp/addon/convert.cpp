#include "addon/convert.h"

#include <cmath>

#include "addon/tensor_wrap.h"

namespace dmdlk::addon {

int64_t to_integer(Napi::Value value, const char* name, int64_t min, int64_t max) {
  DMDLK_CHECK(value.IsNumber(), ErrorCode::InvalidArg, name, " must be a number");
  double v = value.As<Napi::Number>().DoubleValue();
  DMDLK_CHECK(std::isfinite(v) && v == std::floor(v) && v >= double(min) && v <= double(max), ErrorCode::InvalidArg,
              name, " must be an integer in [", min, ", ", max, "], got ", v);
  return static_cast<int64_t>(v);
}

double to_number(Napi::Value value, const char* name) {
  DMDLK_CHECK(value.IsNumber(), ErrorCode::InvalidArg, name, " must be a number");
  double v = value.As<Napi::Number>().DoubleValue();
  DMDLK_CHECK(std::isfinite(v), ErrorCode::InvalidArg, name, " must be finite, got ", v);
  return v;
}

Shape to_shape(Napi::Value value, const char* name) {
  DMDLK_CHECK(value.IsArray(), ErrorCode::InvalidArg, name, " must be an array of integers");
  Napi::Array array = value.As<Napi::Array>();
  DMDLK_CHECK(array.Length() <= 8, ErrorCode::Shape, name, " has ", array.Length(), " axes; at most 8 are supported");
  Shape shape;
  for (uint32_t i = 0; i < array.Length(); ++i) shape.push_back(to_integer(array.Get(i), name, 0, int64_t(1) << 40));
  return shape;
}

Napi::Array from_shape(Napi::Env env, const Shape& shape) {
  Napi::Array out = Napi::Array::New(env, shape.size());
  for (size_t i = 0; i < shape.size(); ++i) out.Set(uint32_t(i), Napi::Number::New(env, double(shape[i])));
  return out;
}

std::string to_string(Napi::Value value, const char* name) {
  DMDLK_CHECK(value.IsString(), ErrorCode::InvalidArg, name, " must be a string");
  return value.As<Napi::String>().Utf8Value();
}

bool to_bool(Napi::Value value, const char* name) {
  DMDLK_CHECK(value.IsBoolean(), ErrorCode::InvalidArg, name, " must be a boolean");
  return value.As<Napi::Boolean>().Value();
}

Tensor to_optional_tensor(Napi::Value value, const char* name) {
  if (value.IsUndefined() || value.IsNull()) return Tensor();
  return TensorWrap::unwrap(value, name);
}

}  // namespace dmdlk::addon
