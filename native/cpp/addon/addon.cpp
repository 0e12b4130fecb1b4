// The module's entry: info(), the process-wide matmul precision, and the
// registration of every binding.
#include "addon/addon.h"

#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/model_wrap.h"
#include "addon/tensor_wrap.h"
#include "core/cpu_features.h"
#include "core/cuda_runtime.h"
#include "core/matmul_precision.h"
#include "core/thread_pool.h"

namespace dmdlk::addon {

Addon::Addon(Napi::Env env, Napi::Object exports) {
  Napi::Function tensor = TensorWrap::define(env), model = ModelWrap::define(env);
  tensor_constructor = Napi::Persistent(tensor);
  model_constructor = Napi::Persistent(model);
  DefineAddon(exports,
              {InstanceMethod<&Addon::info>("info"), InstanceMethod<&Addon::matmul_precision>("matmulPrecision"),
               InstanceMethod<&Addon::set_matmul_precision>("setMatmulPrecision")});
  exports.Set("NativeTensor", tensor);
  exports.Set("NativeModel", model);
  define_ops(env, exports);
  define_io(env, exports);
  define_models(env, exports);
  define_data(env, exports);
}

Executor& Addon::executor(Napi::Env env) {
  if (!executor_) executor_ = std::make_unique<Executor>(env);
  return *executor_;
}

Napi::Value Addon::info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    out.Set("version", DMDLK_VERSION);
    out.Set("napiVersion", NAPI_VERSION);

    Napi::Object cpu = Napi::Object::New(env);
    const CpuFeatures& f = cpu_features();
    cpu.Set("threads", ThreadPool::global().threads());
    cpu.Set("simd", simd_level());
    Napi::Object features = Napi::Object::New(env);
    features.Set("avx2", f.avx2);
    features.Set("fma", f.fma);
    features.Set("avx512f", f.avx512f);
    features.Set("neon", f.neon);
    cpu.Set("features", features);
    out.Set("cpu", cpu);

    const cuda::Availability& a = cuda::availability();
    Napi::Object gpu = Napi::Object::New(env);
    gpu.Set("compiled", a.compiled);
    gpu.Set("available", a.available);
    if (!a.available) gpu.Set("reason", a.reason);
    gpu.Set("architectures", a.architectures);
    gpu.Set("runtimeVersion", a.runtime_version);
    gpu.Set("driverVersion", a.driver_version);
    Napi::Array devices = Napi::Array::New(env, a.devices.size());
    for (size_t i = 0; i < a.devices.size(); ++i) {
      const cuda::GpuInfo& d = a.devices[i];
      Napi::Object o = Napi::Object::New(env);
      o.Set("index", d.index);
      o.Set("name", d.name);
      o.Set("computeCapability", std::to_string(d.major) + "." + std::to_string(d.minor));
      o.Set("totalMemory", double(d.total_memory));
      o.Set("multiprocessors", d.multiprocessors);
      devices.Set(uint32_t(i), o);
    }
    gpu.Set("devices", devices);
    out.Set("cuda", gpu);
    return out;
  });
}

Napi::Value Addon::matmul_precision(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    return Napi::String::New(info.Env(), matmul_precision_name(dmdlk::matmul_precision()));
  });
}

Napi::Value Addon::set_matmul_precision(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    dmdlk::set_matmul_precision(parse_matmul_precision(to_string(info[0], "precision")));
    return info.Env().Undefined();
  });
}

}  // namespace dmdlk::addon

// The macro pastes the class name into identifiers: it needs an unqualified name.
using DmdlkAddon = dmdlk::addon::Addon;
NODE_API_ADDON(DmdlkAddon)
