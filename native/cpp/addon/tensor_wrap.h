// The JavaScript Tensor handle: owns a reference to a dmdlk::Tensor until
// dispose() or garbage collection. Tensors are immutable once made (every op
// returns new tensors), so reading one while ops are queued is always safe.
#pragma once
#include <napi.h>

#include "core/tensor.h"

namespace dmdlk::addon {

class TensorWrap : public Napi::ObjectWrap<TensorWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  // A new JS Tensor holding `tensor`.
  static Napi::Object wrap(Napi::Env env, const Tensor& tensor);
  // The tensor behind a JS value; ERR_INVALID_ARG if it is no Tensor,
  // ERR_DISPOSED if it was disposed. `name` names the argument.
  static Tensor unwrap(Napi::Value value, const char* name);

  // new Tensor(data: TypedArray, shape: number[], device: string)
  explicit TensorWrap(const Napi::CallbackInfo& info);
  void Finalize(Napi::Env env) override;

 private:
  Napi::Value shape(const Napi::CallbackInfo& info);
  Napi::Value dtype(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value disposed(const Napi::CallbackInfo& info);
  Napi::Value to_array(const Napi::CallbackInfo& info);   // synchronous copy out
  Napi::Value data(const Napi::CallbackInfo& info);       // Promise of a copy, off the event loop
  Napi::Value to_device(const Napi::CallbackInfo& info);  // Promise of a Tensor on another device
  Napi::Value dispose(const Napi::CallbackInfo& info);

  const Tensor& live(const char* what) const;
  void release(Napi::Env env);

  Tensor tensor_;
  bool disposed_ = false;
  int64_t host_bytes_ = 0;  // reported to V8 as external memory
};

// A JS typed array holding a copy of a CPU tensor's elements.
Napi::Value typed_array_of(Napi::Env env, const Tensor& cpu_tensor);

}  // namespace dmdlk::addon
