// Data preparation from JavaScript: batches as the network sees them (for
// inspection), the paper's offline augmentation, and bilinear resizing (for
// masks and probabilities at an image's original size). Short work, on the
// addon's shared executor thread.
#include "addon/addon.h"
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/tensor_wrap.h"
#include "data/augment.h"

namespace dmdlk::addon {

namespace {

// (augmentJson | null, seed, batch, height, width) -> the draws, none without augmentation.
std::vector<ImageAugment> draws_from(Napi::Value json, Napi::Value seed, const Tensor& images) {
  if (json.IsNull() || json.IsUndefined()) return {};
  Augmentation a = augmentation_from_json(to_string(json, "augment"));
  uint64_t s = uint64_t(to_integer(seed, "seed", 0, int64_t(1) << 52));
  DMDLK_CHECK(images.rank() == 4, ErrorCode::Shape, "images must be [B, H, W, C] uint8");
  return draw_augments(a, images.dim(0), images.dim(1), images.dim(2), s);
}

Napi::Object pair(Napi::Env env, const Tensor& images, const Tensor& masks) {
  Napi::Object out = Napi::Object::New(env);
  out.Set("images", TensorWrap::wrap(env, images));
  out.Set("masks", masks.defined() ? Napi::Value(TensorWrap::wrap(env, masks)) : env.Null());
  return out;
}

// prepareBatch(imagesU8, masksU8 | null, augmentJson | null, seed) -> Promise<{ images, masks }>
Napi::Value prepare_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Tensor images = TensorWrap::unwrap(info[0], "images"), masks = to_optional_tensor(info[1], "masks");
    std::vector<ImageAugment> draws = draws_from(info[2], info[3], images);
    return Addon::of(env).executor(env).submit(env, [images, masks, draws]() -> Executor::Finish {
      PreparedBatch p = prepare_batch(images, masks, Device::cpu(), draws);
      return [p](Napi::Env env) -> Napi::Value { return pair(env, p.images, p.masks); };
    });
  });
}

// augmentStored(imagesU8, masksU8, augmentJson, seed) -> Promise<{ images, masks }> (uint8)
Napi::Value augment_stored_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Tensor images = TensorWrap::unwrap(info[0], "images"), masks = TensorWrap::unwrap(info[1], "masks");
    std::vector<ImageAugment> draws = draws_from(info[2], info[3], images);
    return Addon::of(env).executor(env).submit(env, [images, masks, draws]() -> Executor::Finish {
      StoredBatch s = augment_stored(images, masks, draws);
      return [s](Napi::Env env) -> Napi::Value { return pair(env, s.images, s.masks); };
    });
  });
}

// resizeBilinear(x [B, C, H, W] float32, height, width) -> Promise<Tensor>
Napi::Value resize_js(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  return guarded(env, [&]() -> Napi::Value {
    Tensor x = TensorWrap::unwrap(info[0], "x");
    int64_t h = to_integer(info[1], "height", 1, 1 << 16), w = to_integer(info[2], "width", 1, 1 << 16);
    return Addon::of(env).executor(env).submit(env, [x, h, w]() -> Executor::Finish {
      Tensor y = resize_bilinear(x, h, w);
      return [y](Napi::Env env) -> Napi::Value { return TensorWrap::wrap(env, y); };
    });
  });
}

}  // namespace

void define_data(Napi::Env env, Napi::Object exports) {
  exports.Set("prepareBatch", Napi::Function::New(env, prepare_js, "prepareBatch"));
  exports.Set("augmentStored", Napi::Function::New(env, augment_stored_js, "augmentStored"));
  exports.Set("resizeBilinear", Napi::Function::New(env, resize_js, "resizeBilinear"));
}

}  // namespace dmdlk::addon
