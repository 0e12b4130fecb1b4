// Per-environment state of the addon (one per main thread, worker_thread or
// Electron process): nothing is static, so the addon loads in many contexts.
#pragma once
#include <napi.h>

#include <memory>

#include "addon/executor.h"

namespace dmdlk::addon {

class Addon : public Napi::Addon<Addon> {
 public:
  Addon(Napi::Env env, Napi::Object exports);

  static Addon& of(Napi::Env env) { return *env.GetInstanceData<Addon>(); }

  Napi::FunctionReference tensor_constructor;
  Napi::FunctionReference model_constructor;
  // The queue of eager calls (ops, copies, files), started on first use.
  Executor& executor(Napi::Env env);

 private:
  Napi::Value info(const Napi::CallbackInfo& info);
  Napi::Value matmul_precision(const Napi::CallbackInfo& info);
  Napi::Value set_matmul_precision(const Napi::CallbackInfo& info);
  std::unique_ptr<Executor> executor_;
};

// Registers the op functions (ops_binding.cpp), file functions (io_binding.cpp)
// and model functions (model_wrap.cpp).
void define_ops(Napi::Env env, Napi::Object exports);
void define_io(Napi::Env env, Napi::Object exports);
void define_models(Napi::Env env, Napi::Object exports);
void define_data(Napi::Env env, Napi::Object exports);

}  // namespace dmdlk::addon
