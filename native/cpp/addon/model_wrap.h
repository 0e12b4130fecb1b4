// The JavaScript handle of a Model. Each model has its own executor: one
// native thread that runs the model's calls in the order they were made,
// so two models train side by side and one model's calls never interleave.
#pragma once
#include <napi.h>

#include <memory>
#include <optional>

#include "addon/executor.h"
#include "core/matmul_precision.h"
#include "nn/model.h"
#include "nn/trainer.h"

namespace dmdlk::addon {

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
 public:
  static Napi::Function define(Napi::Env env);
  static Napi::Object wrap(Napi::Env env, std::unique_ptr<Model> model);

  explicit ModelWrap(const Napi::CallbackInfo& info);

 private:
  Napi::Value config(const Napi::CallbackInfo& info);
  Napi::Value device(const Napi::CallbackInfo& info);
  Napi::Value forward(const Napi::CallbackInfo& info);
  Napi::Value loss_and_gradients(const Napi::CallbackInfo& info);
  Napi::Value train_step(const Napi::CallbackInfo& info);
  Napi::Value train_batch(const Napi::CallbackInfo& info);
  Napi::Value predict_batch(const Napi::CallbackInfo& info);
  Napi::Value optimizer_state(const Napi::CallbackInfo& info);
  Napi::Value set_optimizer_state(const Napi::CallbackInfo& info);
  Napi::Value state(const Napi::CallbackInfo& info);
  Napi::Value set_state(const Napi::CallbackInfo& info);
  Napi::Value save(const Napi::CallbackInfo& info);
  Napi::Value summary(const Napi::CallbackInfo& info);
  Napi::Value dispose(const Napi::CallbackInfo& info);
  Napi::Value precision(const Napi::CallbackInfo& info);
  void set_precision(const Napi::CallbackInfo& info, const Napi::Value& value);

  Model& live() const;
  Napi::Promise run(Napi::Env env, Executor::Work work);

  // Shared with queued work, so a dispose() cannot free the model under a running job.
  std::shared_ptr<Model> model_;
  // Adam's moments, made by the first training step or restored state (on the model's thread).
  std::shared_ptr<std::unique_ptr<AdamTrainer>> trainer_ = std::make_shared<std::unique_ptr<AdamTrainer>>();
  std::unique_ptr<Executor> executor_;
  // The float32 matmul precision of this model's work (none: the process's),
  // as its jobs are submitted: each runs under the one set when it was queued.
  std::optional<MatmulPrecision> precision_;
};

}  // namespace dmdlk::addon
