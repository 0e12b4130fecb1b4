#include "addon/model_wrap.h"

#include <functional>

#include "addon/addon.h"
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/tensor_wrap.h"
#include "data/augment.h"
#include "nn/config_schema.h"
#include "nn/network_json.h"
#include "nn/summary.h"

namespace dmdlk::addon {

namespace {

// [name, Tensor][] for JavaScript.
Napi::Array named_tensors(Napi::Env env, const NamedTensors& tensors) {
  Napi::Array out = Napi::Array::New(env, tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    Napi::Array pair = Napi::Array::New(env, 2);
    pair.Set(0u, tensors[i].first);
    pair.Set(1u, TensorWrap::wrap(env, tensors[i].second));
    out.Set(uint32_t(i), pair);
  }
  return out;
}

NamedTensors to_named_tensors(Napi::Value value, const char* what) {
  DMDLK_CHECK(value.IsArray(), ErrorCode::InvalidArg, what, " must be an array of [name, Tensor] pairs");
  Napi::Array list = value.As<Napi::Array>();
  NamedTensors out;
  for (uint32_t i = 0; i < list.Length(); ++i) {
    Napi::Value entry = list.Get(i);
    DMDLK_CHECK(entry.IsArray() && entry.As<Napi::Array>().Length() == 2, ErrorCode::InvalidArg, what, "[", i,
                "] must be a [name, Tensor] pair");
    std::string name = to_string(entry.As<Napi::Array>().Get(0u), "a tensor name");
    out.emplace_back(name, TensorWrap::unwrap(entry.As<Napi::Array>().Get(1u), name.c_str()));
  }
  return out;
}

std::map<std::string, std::string> to_metadata(Napi::Value value) {
  std::map<std::string, std::string> out;
  if (value.IsUndefined() || value.IsNull()) return out;
  DMDLK_CHECK(value.IsObject(), ErrorCode::InvalidArg, "metadata must be an object of strings");
  Napi::Object o = value.As<Napi::Object>();
  Napi::Array keys = o.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    std::string key = keys.Get(i).As<Napi::String>().Utf8Value();
    out[key] = to_string(o.Get(key), "a metadata value");
  }
  return out;
}

AdamTrainer& trainer_of(std::unique_ptr<AdamTrainer>& trainer, Model& model) {
  if (!trainer) trainer = std::make_unique<AdamTrainer>(model, AdamOptions{});
  return *trainer;
}

Napi::Object step_result(Napi::Env env, double loss, int64_t step) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("loss", loss);
  out.Set("step", double(step));
  return out;
}

}  // namespace

Napi::Function ModelWrap::define(Napi::Env env) {
  return DefineClass(
      env, "NativeModel",
      {InstanceAccessor<&ModelWrap::config>("config"), InstanceAccessor<&ModelWrap::device>("device"),
       InstanceMethod<&ModelWrap::forward>("forward"),
       InstanceMethod<&ModelWrap::loss_and_gradients>("lossAndGradients"),
       InstanceMethod<&ModelWrap::train_step>("trainStep"), InstanceMethod<&ModelWrap::train_batch>("trainBatch"),
       InstanceMethod<&ModelWrap::predict_batch>("predictBatch"),
       InstanceMethod<&ModelWrap::optimizer_state>("optimizerState"),
       InstanceMethod<&ModelWrap::set_optimizer_state>("setOptimizerState"), InstanceMethod<&ModelWrap::state>("state"),
       InstanceMethod<&ModelWrap::set_state>("setState"), InstanceMethod<&ModelWrap::save>("save"),
       InstanceMethod<&ModelWrap::summary>("summary"), InstanceMethod<&ModelWrap::dispose>("dispose"),
       InstanceAccessor<&ModelWrap::precision, &ModelWrap::set_precision>("precision")});
}

Napi::Object ModelWrap::wrap(Napi::Env env, std::unique_ptr<Model> model) {
  std::shared_ptr<Model> shared(std::move(model));
  return Addon::of(env).model_constructor.New({Napi::External<std::shared_ptr<Model>>::New(env, &shared)});
}

ModelWrap::ModelWrap(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ModelWrap>(info) {
  Napi::Env env = info.Env();
  guarded(env, [&]() -> Napi::Value {
    DMDLK_CHECK(info.Length() == 1 && info[0].IsExternal(), ErrorCode::InvalidArg,
                "models are made by createModel() or loadModel()");
    model_ = *info[0].As<Napi::External<std::shared_ptr<Model>>>().Data();
    executor_ = std::make_unique<Executor>(env);
    return env.Undefined();
  });
}

Model& ModelWrap::live() const {
  DMDLK_CHECK(model_ != nullptr, ErrorCode::Disposed, "the model was disposed");
  return *model_;
}

Napi::Promise ModelWrap::run(Napi::Env env, Executor::Work work) {
  live();
  if (!precision_) return executor_->submit(env, std::move(work));
  return executor_->submit(env, [precision = *precision_, work = std::move(work)]() {
    ThreadMatmulPrecision scope(precision);
    return work();
  });
}

Napi::Value ModelWrap::precision(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    live();
    return precision_ ? Napi::String::New(env, matmul_precision_name(*precision_)) : env.Null();
  });
}

void ModelWrap::set_precision(const Napi::CallbackInfo& info, const Napi::Value& value) {
  guarded(info.Env(), [&]() -> Napi::Value {
    live();
    if (value.IsNull() || value.IsUndefined()) precision_.reset();
    else precision_ = parse_matmul_precision(value.ToString().Utf8Value());
    return info.Env().Undefined();
  });
}

Napi::Value ModelWrap::config(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::String::New(info.Env(), config_to_json(live().config())); });
}

Napi::Value ModelWrap::device(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&] { return Napi::String::New(info.Env(), live().device().str()); });
}

Napi::Value ModelWrap::forward(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Tensor images = TensorWrap::unwrap(info[0], "images");
    std::shared_ptr<Model> model = model_;
    return run(info.Env(), [model, images]() -> Executor::Finish {
      Tensor logits = model->forward(images);
      return [logits](Napi::Env env) { return TensorWrap::wrap(env, logits); };
    });
  });
}

Napi::Value ModelWrap::loss_and_gradients(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Tensor images = TensorWrap::unwrap(info[0], "images"), masks = TensorWrap::unwrap(info[1], "masks");
    bool return_logits = to_bool(info[2], "returnLogits");
    LossKind loss_name = loss_kind(to_string(info[3], "loss"));
    std::shared_ptr<Model> model = model_;
    return run(info.Env(), [model, images, masks, return_logits, loss_name]() -> Executor::Finish {
      auto out = std::make_shared<Model::LossAndGradients>(model->loss_and_gradients(images, masks, loss_name));
      double loss = out->loss.to(Device::cpu()).to_vector<float>()[0];
      return [out, loss, return_logits](Napi::Env env) -> Napi::Value {
        Napi::Object result = Napi::Object::New(env);
        result.Set("loss", loss);
        result.Set("gradients", named_tensors(env, out->gradients));
        if (return_logits) result.Set("logits", TensorWrap::wrap(env, out->logits));
        return result;
      };
    });
  });
}

Napi::Value ModelWrap::train_step(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Tensor images = TensorWrap::unwrap(info[0], "images"), masks = TensorWrap::unwrap(info[1], "masks");
    double lr = to_number(info[2], "lr");  // the TypeScript layer checks its range, adam_step its sign
    LossKind loss = loss_kind(to_string(info[3], "loss"));
    std::shared_ptr<Model> model = model_;
    auto trainer = trainer_;
    return run(info.Env(), [model, trainer, images, masks, lr, loss]() -> Executor::Finish {
      AdamTrainer& t = trainer_of(*trainer, *model);
      t.set_learning_rate(lr);
      t.set_loss(loss);
      double loss = t.step(images, masks);
      int64_t step = t.steps();
      return [loss, step](Napi::Env env) -> Napi::Value { return step_result(env, loss, step); };
    });
  });
}

// trainBatch(imagesU8 [B,S,S,C], masksU8 [B,S,S], augmentJson | null, seed, lr, loss 'ce' | 'ce+dice',
// optimizer 'adam' | 'adamw', weightDecay, clipGradNorm (0: none)): the batch is prepared and augmented on
// the model's device, then one Adam or AdamW step. The TypeScript layer checks every value's range.
Napi::Value ModelWrap::train_batch(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Tensor images = TensorWrap::unwrap(info[0], "images"), masks = TensorWrap::unwrap(info[1], "masks");
    bool augment = !(info[2].IsNull() || info[2].IsUndefined());
    Augmentation a = augment ? augmentation_from_json(to_string(info[2], "augment")) : Augmentation{};
    uint64_t seed = uint64_t(to_integer(info[3], "seed", 0, int64_t(1) << 52));
    double lr = to_number(info[4], "lr");
    LossKind loss = loss_kind(to_string(info[5], "loss"));
    std::string optimizer = to_string(info[6], "optimizer");
    DMDLK_CHECK(optimizer == "adam" || optimizer == "adamw", ErrorCode::InvalidArg,
                "optimizer must be 'adam' or 'adamw', got '", optimizer, "'");
    double weight_decay = to_number(info[7], "weightDecay"), clip = to_number(info[8], "clipGradNorm");
    std::shared_ptr<Model> model = model_;
    auto trainer = trainer_;
    return run(info.Env(),
               [model, trainer, images, masks, augment, a, seed, lr, loss, optimizer, weight_decay,
                clip]() -> Executor::Finish {
                 DMDLK_CHECK(images.rank() == 4, ErrorCode::Shape, "images must be uint8 [B, S, S, C], got ",
                             shape_str(images.shape()));
                 std::vector<ImageAugment> draws =
                     augment ? draw_augments(a, images.dim(0), images.dim(1), images.dim(2), seed)
                             : std::vector<ImageAugment>{};
                 PreparedBatch batch = prepare_batch(images, masks, model->device(), draws);
                 AdamTrainer& t = trainer_of(*trainer, *model);
                 t.set_learning_rate(lr);
                 t.set_loss(loss);
                 t.set_weight_decay(weight_decay, optimizer == "adamw");
                 t.set_clip_grad_norm(clip);
                 double value = t.step(batch.images, batch.masks);
                 int64_t step = t.steps();
                 double norm = clip > 0 ? t.last_grad_norm() : -1;
                 return [value, step, norm](Napi::Env env) -> Napi::Value {
                   Napi::Object out = step_result(env, value, step);
                   if (norm >= 0) out.Set("gradNorm", norm);
                   return out;
                 };
               });
  });
}

// predictBatch(imagesU8 [B,S,S,C]) -> logits [B, classes, S, S] on the CPU.
Napi::Value ModelWrap::predict_batch(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    Tensor images = TensorWrap::unwrap(info[0], "images");
    std::shared_ptr<Model> model = model_;
    return run(info.Env(), [model, images]() -> Executor::Finish {
      Tensor logits = model->forward(prepare_batch(images, Tensor(), model->device(), {}).images).to(Device::cpu());
      return [logits](Napi::Env env) { return TensorWrap::wrap(env, logits); };
    });
  });
}

// optimizerState() -> { step, tensors: [name, Tensor][] } (zero moments before the first step)
Napi::Value ModelWrap::optimizer_state(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    std::shared_ptr<Model> model = model_;
    auto trainer = trainer_;
    return run(info.Env(), [model, trainer]() -> Executor::Finish {
      AdamTrainer& t = trainer_of(*trainer, *model);
      auto moments = std::make_shared<NamedTensors>(t.moments());
      int64_t step = t.steps();
      return [moments, step](Napi::Env env) -> Napi::Value {
        Napi::Object out = Napi::Object::New(env);
        out.Set("step", double(step));
        out.Set("tensors", named_tensors(env, *moments));
        return out;
      };
    });
  });
}

// setOptimizerState(step, [name, Tensor][])
Napi::Value ModelWrap::set_optimizer_state(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    int64_t step = to_integer(info[0], "step", 0, int64_t(1) << 52);
    NamedTensors tensors = to_named_tensors(info[1], "tensors");
    std::shared_ptr<Model> model = model_;
    auto trainer = trainer_;
    return run(info.Env(), [model, trainer, step, tensors]() -> Executor::Finish {
      trainer_of(*trainer, *model).set_moments(step, tensors);
      return [](Napi::Env env) { return env.Undefined(); };
    });
  });
}

Napi::Value ModelWrap::state(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    std::shared_ptr<Model> model = model_;
    return run(info.Env(), [model]() -> Executor::Finish {
      // Copies: the model's own tensors change as it trains.
      NamedTensors copies;
      for (const auto& [name, t] : model->state()) copies.emplace_back(name, t.clone());
      return [copies](Napi::Env env) { return named_tensors(env, copies); };
    });
  });
}

Napi::Value ModelWrap::set_state(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    NamedTensors tensors = to_named_tensors(info[0], "tensors");
    std::shared_ptr<Model> model = model_;
    return run(info.Env(), [model, tensors]() -> Executor::Finish {
      model->set_state(tensors);
      return [](Napi::Env env) { return env.Undefined(); };
    });
  });
}

Napi::Value ModelWrap::save(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    std::string path = to_string(info[0], "path");
    std::map<std::string, std::string> metadata = to_metadata(info[1]);
    std::shared_ptr<Model> model = model_;
    return run(info.Env(), [model, path, metadata]() -> Executor::Finish {
      model->save(path, metadata);
      return [](Napi::Env env) { return env.Undefined(); };
    });
  });
}

Napi::Value ModelWrap::summary(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    std::shared_ptr<Model> model = model_;
    return run(info.Env(), [model]() -> Executor::Finish {
      std::vector<ModuleCost> modules = summarize(model->config());
      return [modules](Napi::Env env) -> Napi::Value {
        Napi::Array out = Napi::Array::New(env, modules.size());
        for (size_t i = 0; i < modules.size(); ++i) {
          Napi::Object m = Napi::Object::New(env);
          m.Set("module", modules[i].module);
          m.Set("parameters", double(modules[i].parameters));
          m.Set("macs", double(modules[i].macs));
          m.Set("offsetMacs", double(modules[i].offset_macs));
          m.Set("activationBytes", double(modules[i].activation_bytes));
          out.Set(uint32_t(i), m);
        }
        return out;
      };
    });
  });
}

Napi::Value ModelWrap::dispose(const Napi::CallbackInfo& info) {
  // Waits for the call in progress, rejects the queued ones, then frees the
  // model (or leaves it to the last job that still holds it).
  executor_.reset();
  trainer_.reset();
  model_.reset();
  return info.Env().Undefined();
}

namespace {

// A model made on the addon's shared executor, wrapped on the JavaScript thread.
Napi::Value submit_model(Napi::Env env, std::function<std::unique_ptr<Model>()> make) {
  return Addon::of(env).executor(env).submit(env, [make]() -> Executor::Finish {
    auto model = std::make_shared<std::unique_ptr<Model>>(make());
    return [model](Napi::Env env) { return ModelWrap::wrap(env, std::move(*model)); };
  });
}

// createModel(configJson, device, seed) -> Promise<NativeModel>
Napi::Value create_model(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    std::string config = to_string(info[0], "config");
    Device device = parse_device(to_string(info[1], "device"));
    uint64_t seed = uint64_t(to_integer(info[2], "seed", 0, int64_t(1) << 52));
    return submit_model(info.Env(),
                        [config, device, seed] { return Model::create(config_from_json(config), device, seed); });
  });
}

// loadModel(path, device, configJson | null) -> Promise<NativeModel>
Napi::Value load_model(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    std::string path = to_string(info[0], "path");
    Device device = parse_device(to_string(info[1], "device"));
    bool has_config = info[2].IsString();
    std::string config = has_config ? info[2].As<Napi::String>().Utf8Value() : "";
    return submit_model(info.Env(), [path, device, has_config, config] {
      std::unique_ptr<ModelConfig> chosen;
      if (has_config) chosen = std::make_unique<ModelConfig>(config_from_json(config));
      return Model::load(path, device, chosen.get());
    });
  });
}

// inferenceGraph(configJson, batch) -> string: the evaluation graph, as nn/network_json.h writes it.
Napi::Value inference_graph(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value {
    ModelConfig config = config_from_json(to_string(info[0], "config"));
    int64_t batch = to_integer(info[1], "batch", 1, 4096);
    return Napi::String::New(info.Env(), network_json(config, batch));
  });
}

// configSchema() -> string: the model configuration's fields (nn/config_schema.h), as JSON.
Napi::Value config_schema(const Napi::CallbackInfo& info) {
  return guarded(info.Env(), [&]() -> Napi::Value { return Napi::String::New(info.Env(), config_schema_json()); });
}

}  // namespace

void define_models(Napi::Env env, Napi::Object exports) {
  exports.Set("configSchema", Napi::Function::New(env, config_schema, "configSchema"));
  exports.Set("createModel", Napi::Function::New(env, create_model, "createModel"));
  exports.Set("loadModel", Napi::Function::New(env, load_model, "loadModel"));
  exports.Set("inferenceGraph", Napi::Function::New(env, inference_graph, "inferenceGraph"));
}

}  // namespace dmdlk::addon
