#include "addon/tensor_wrap.h"

#include <cstring>

#include "addon/addon.h"
#include "addon/convert.h"
#include "addon/errors.h"

namespace dmdlk::addon {

namespace {

DType dtype_of_typed_array(napi_typedarray_type type) {
  switch (type) {
    case napi_float32_array: return DType::F32;
    case napi_float64_array: return DType::F64;
    case napi_uint8_array: return DType::U8;
    case napi_int32_array: return DType::I32;
    default: throw Error(ErrorCode::DType, "data must be a Float32Array, Float64Array, Uint8Array or Int32Array");
  }
}

}  // namespace

Napi::Function TensorWrap::define(Napi::Env env) {
  return DefineClass(
      env, "NativeTensor",
      {InstanceAccessor<&TensorWrap::shape>("shape"), InstanceAccessor<&TensorWrap::dtype>("dtype"),
       InstanceAccessor<&TensorWrap::device>("device"), InstanceAccessor<&TensorWrap::disposed>("disposed"),
       InstanceMethod<&TensorWrap::to_array>("toArray"), InstanceMethod<&TensorWrap::data>("data"),
       InstanceMethod<&TensorWrap::to_device>("toDevice"), InstanceMethod<&TensorWrap::dispose>("dispose")});
}

Napi::Object TensorWrap::wrap(Napi::Env env, const Tensor& tensor) {
  Tensor copy = tensor;
  return Addon::of(env).tensor_constructor.New({Napi::External<Tensor>::New(env, &copy)});
}

Tensor TensorWrap::unwrap(Napi::Value value, const char* name) {
  Napi::Env env = value.Env();
  bool is_tensor = value.IsObject() && value.As<Napi::Object>().InstanceOf(Addon::of(env).tensor_constructor.Value());
  DMDLK_CHECK(is_tensor, ErrorCode::InvalidArg, name, " must be a Tensor");
  TensorWrap* wrap = Napi::ObjectWrap<TensorWrap>::Unwrap(value.As<Napi::Object>());
  DMDLK_CHECK(!wrap->disposed_, ErrorCode::Disposed, name, " was disposed");
  return wrap->tensor_;
}

TensorWrap::TensorWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<TensorWrap>(info) {
  Napi::Env env = info.Env();
  guarded(env, [&]() -> Napi::Value {
    if (info.Length() == 1 && info[0].IsExternal()) {
      tensor_ = *info[0].As<Napi::External<Tensor>>().Data();
    } else {
      DMDLK_CHECK(info.Length() == 3 && info[0].IsTypedArray(), ErrorCode::InvalidArg,
                  "new NativeTensor(data, shape, device): data must be a typed array");
      Napi::TypedArray data = info[0].As<Napi::TypedArray>();
      DType dtype = dtype_of_typed_array(data.TypedArrayType());
      Shape shape = to_shape(info[1], "shape");
      Device device = parse_device(to_string(info[2], "device"));
      DMDLK_CHECK(shape_numel(shape) == static_cast<int64_t>(data.ElementLength()), ErrorCode::Shape, "shape ",
                  shape_str(shape), " needs ", shape_numel(shape), " elements but data has ", data.ElementLength());
      const uint8_t* bytes = static_cast<const uint8_t*>(data.ArrayBuffer().Data()) + data.ByteOffset();
      tensor_ = Tensor::from_host(bytes, shape, dtype, device);
    }
    if (tensor_.device().is_cpu()) {
      host_bytes_ = static_cast<int64_t>(tensor_.nbytes());
      Napi::MemoryManagement::AdjustExternalMemory(env, host_bytes_);
    }
    return env.Undefined();
  });
}

void TensorWrap::release(Napi::Env env) {
  // The C call, whose failure is ignored: this also runs in finalizers while
  // an environment terminates, where a thrown Napi::Error would abort.
  int64_t ignored;
  if (host_bytes_) napi_adjust_external_memory(env, -host_bytes_, &ignored);
  host_bytes_ = 0;
  tensor_ = Tensor();
}

void TensorWrap::Finalize(Napi::Env env) { release(env); }

const Tensor& TensorWrap::live(const char* what) const {
  DMDLK_CHECK(!disposed_, ErrorCode::Disposed, "cannot ", what, ": the tensor was disposed");
  return tensor_;
}

Napi::Value TensorWrap::shape(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return from_shape(info.Env(), live("read shape").shape()); });
}

Napi::Value TensorWrap::dtype(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::String::New(info.Env(), dtype_name(live("read dtype").dtype())); });
}

Napi::Value TensorWrap::device(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::String::New(info.Env(), live("read device").device().str()); });
}

Napi::Value TensorWrap::disposed(const Napi::CallbackInfo& info) { return Napi::Boolean::New(info.Env(), disposed_); }

Napi::Value typed_array_of(Napi::Env env, const Tensor& t) {
  size_t n = static_cast<size_t>(t.numel());
  Napi::TypedArray out;
  switch (t.dtype()) {
    case DType::F32: out = Napi::Float32Array::New(env, n); break;
    case DType::F64: out = Napi::Float64Array::New(env, n); break;
    case DType::U8: out = Napi::Uint8Array::New(env, n); break;
    case DType::I32: out = Napi::Int32Array::New(env, n); break;
  }
  if (n) std::memcpy(static_cast<uint8_t*>(out.ArrayBuffer().Data()) + out.ByteOffset(), t.raw(), t.nbytes());
  return out;
}

Napi::Value TensorWrap::to_array(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] {
    const Tensor& t = live("read data");
    return typed_array_of(info.Env(), t.device().is_cpu() ? t : t.to(Device::cpu()));
  });
}

Napi::Value TensorWrap::data(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Tensor t = live("read data");
    return Addon::of(info.Env()).executor(info.Env()).submit(info.Env(), [t]() -> Executor::Finish {
      Tensor host = t.to(Device::cpu());
      return [host](Napi::Env env) { return typed_array_of(env, host); };
    });
  });
}

Napi::Value TensorWrap::to_device(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Tensor t = live("move");
    Device target = parse_device(to_string(info[0], "device"));
    return Addon::of(info.Env()).executor(info.Env()).submit(info.Env(), [t, target]() -> Executor::Finish {
      Tensor moved = t.to(target);
      return [moved](Napi::Env env) { return TensorWrap::wrap(env, moved); };
    });
  });
}

Napi::Value TensorWrap::dispose(const Napi::CallbackInfo& info) {
  if (!disposed_) {
    disposed_ = true;
    release(info.Env());
  }
  return info.Env().Undefined();
}

}  // namespace dmdlk::addon
