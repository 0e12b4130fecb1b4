// safetensors files from JavaScript, read and written on the executor thread.
#include "addon/addon.h"
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/tensor_wrap.h"
#include "io/safetensors.h"

namespace dmdlk::addon {

namespace {

// readSafetensors(path) -> Promise<{ tensors: [name, Tensor][], metadata: {key: value} }>
Napi::Value read_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string path = to_string(info[0], "path");
    return Addon::of(env).executor(env).submit(env, [path]() -> Executor::Finish {
      auto contents = std::make_shared<SafetensorsContents>(read_safetensors(path));
      return [contents](Napi::Env env) -> Napi::Value {
        Napi::Array tensors = Napi::Array::New(env, contents->tensors.size());
        for (size_t i = 0; i < contents->tensors.size(); ++i) {
          Napi::Array entry = Napi::Array::New(env, 2);
          entry.Set(0u, contents->tensors[i].first);
          entry.Set(1u, TensorWrap::wrap(env, contents->tensors[i].second));
          tensors.Set(uint32_t(i), entry);
        }
        Napi::Object metadata = Napi::Object::New(env);
        for (const auto& [k, v] : contents->metadata) metadata.Set(k, v);
        Napi::Object out = Napi::Object::New(env);
        out.Set("tensors", tensors);
        out.Set("metadata", metadata);
        return out;
      };
    });
  });
}

// writeSafetensors(path, [name, Tensor][], {key: value}) -> Promise<void>
Napi::Value write_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    std::string path = to_string(info[0], "path");
    DMDLK_CHECK(info[1].IsArray(), ErrorCode::InvalidArg, "tensors must be an array of [name, Tensor] pairs");
    Napi::Array list = info[1].As<Napi::Array>();
    NamedTensors tensors;
    for (uint32_t i = 0; i < list.Length(); ++i) {
      Napi::Value entry = list.Get(i);
      DMDLK_CHECK(entry.IsArray() && entry.As<Napi::Array>().Length() == 2, ErrorCode::InvalidArg, "tensors[", i,
                  "] must be a [name, Tensor] pair");
      std::string name = to_string(entry.As<Napi::Array>().Get(0u), "tensor name");
      tensors.emplace_back(name, TensorWrap::unwrap(entry.As<Napi::Array>().Get(1u), name.c_str()));
    }
    std::map<std::string, std::string> metadata;
    DMDLK_CHECK(info[2].IsObject(), ErrorCode::InvalidArg, "metadata must be an object of strings");
    Napi::Object m = info[2].As<Napi::Object>();
    Napi::Array keys = m.GetPropertyNames();
    for (uint32_t i = 0; i < keys.Length(); ++i) {
      std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
      metadata[key] = to_string(m.Get(key), "a metadata value");
    }
    return Addon::of(env).executor(env).submit(env, [path, tensors, metadata]() -> Executor::Finish {
      write_safetensors(path, tensors, metadata);
      return [](Napi::Env env) { return env.Undefined(); };
    });
  });
}

}  // namespace

void define_io(Napi::Env env, Napi::Object exports) {
  exports.Set("readSafetensors", Napi::Function::New(env, read_js, "readSafetensors"));
  exports.Set("writeSafetensors", Napi::Function::New(env, write_js, "writeSafetensors"));
}

}  // namespace dmdlk::addon
