// The op functions: convert the arguments, queue the op on the executor,
// resolve with the result tensors. Shape and dtype checks live in the ops.
#include "addon/addon.h"
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/tensor_wrap.h"
#include "ops/binary.h"
#include "ops/conv2d.h"
#include "ops/matmul.h"

namespace dmdlk::addon {

namespace {

using NamedResult = std::vector<std::pair<const char*, Tensor>>;

Executor::Finish tensor_result(const Tensor& t) {
  return [t](Napi::Env env) { return TensorWrap::wrap(env, t); };
}

// {name: Tensor} for every defined tensor of `results`.
Executor::Finish object_result(NamedResult results) {
  return [results](Napi::Env env) -> Napi::Value {
    Napi::Object out = Napi::Object::New(env);
    for (const auto& [name, t] : results)
      if (t.defined()) out.Set(name, TensorWrap::wrap(env, t));
    return out;
  };
}

// Defines `name` as a function that converts its arguments with `prepare`
// (on the JS thread) into Work for the executor.
template <typename Prepare>
void define(Napi::Env env, Napi::Object exports, const char* name, Prepare prepare) {
  exports.Set(name, Napi::Function::New(
                        env,
                        [prepare](const Napi::CallbackInfo& info) -> Napi::Value {
                          Napi::Env env = info.Env();
                          return guarded(env, [&]() -> Napi::Value {
                            return Addon::of(env).executor(env).submit(env, prepare(info));
                          });
                        },
                        name));
}

Conv2dOptions to_conv_options(Napi::Value value) {
  DMDLK_CHECK(value.IsObject(), ErrorCode::InvalidArg, "conv2d options must be an object");
  Napi::Object o = value.As<Napi::Object>();
  auto pair = [&](const char* key, int64_t min, int64_t* h, int64_t* w) {
    Napi::Value v = o.Get(key);
    DMDLK_CHECK(v.IsArray() && v.As<Napi::Array>().Length() == 2, ErrorCode::InvalidArg, "conv2d: ", key,
                " must be [h, w]");
    *h = to_integer(v.As<Napi::Array>().Get(0u), key, min, 1 << 20);
    *w = to_integer(v.As<Napi::Array>().Get(1u), key, min, 1 << 20);
  };
  Conv2dOptions c;
  pair("stride", 1, &c.stride_h, &c.stride_w);
  pair("padding", 0, &c.pad_h, &c.pad_w);
  pair("dilation", 1, &c.dilation_h, &c.dilation_w);
  c.groups = to_integer(o.Get("groups"), "groups", 1, 1 << 20);
  return c;
}

}  // namespace

void define_ops(Napi::Env env, Napi::Object exports) {
  define(env, exports, "add", [](const Napi::CallbackInfo& info) -> Executor::Work {
    Tensor a = TensorWrap::unwrap(info[0], "a"), b = TensorWrap::unwrap(info[1], "b");
    return [a, b] { return tensor_result(add(a, b)); };
  });
  define(env, exports, "mul", [](const Napi::CallbackInfo& info) -> Executor::Work {
    Tensor a = TensorWrap::unwrap(info[0], "a"), b = TensorWrap::unwrap(info[1], "b");
    return [a, b] { return tensor_result(mul(a, b)); };
  });
  define(env, exports, "addBackward", [](const Napi::CallbackInfo& info) -> Executor::Work {
    Tensor dy = TensorWrap::unwrap(info[0], "dy"), a = TensorWrap::unwrap(info[1], "a"),
           b = TensorWrap::unwrap(info[2], "b");
    return [dy, a, b] {
      BinaryGrads g = add_backward(dy, a, b);
      return object_result({{"da", g.da}, {"db", g.db}});
    };
  });
  define(env, exports, "mulBackward", [](const Napi::CallbackInfo& info) -> Executor::Work {
    Tensor dy = TensorWrap::unwrap(info[0], "dy"), a = TensorWrap::unwrap(info[1], "a"),
           b = TensorWrap::unwrap(info[2], "b");
    return [dy, a, b] {
      BinaryGrads g = mul_backward(dy, a, b);
      return object_result({{"da", g.da}, {"db", g.db}});
    };
  });
  define(env, exports, "matmul", [](const Napi::CallbackInfo& info) -> Executor::Work {
    Tensor a = TensorWrap::unwrap(info[0], "a"), b = TensorWrap::unwrap(info[1], "b");
    return [a, b] { return tensor_result(matmul(a, b)); };
  });
  define(env, exports, "matmulBackward", [](const Napi::CallbackInfo& info) -> Executor::Work {
    Tensor dy = TensorWrap::unwrap(info[0], "dy"), a = TensorWrap::unwrap(info[1], "a"),
           b = TensorWrap::unwrap(info[2], "b");
    return [dy, a, b] {
      MatmulGrads g = matmul_backward(dy, a, b);
      return object_result({{"da", g.da}, {"db", g.db}});
    };
  });
  define(env, exports, "linear", [](const Napi::CallbackInfo& info) -> Executor::Work {
    Tensor x = TensorWrap::unwrap(info[0], "x"), w = TensorWrap::unwrap(info[1], "weight");
    Tensor b = to_optional_tensor(info[2], "bias");
    return [x, w, b] { return tensor_result(linear(x, w, b)); };
  });
  define(env, exports, "linearBackward", [](const Napi::CallbackInfo& info) -> Executor::Work {
    Tensor dy = TensorWrap::unwrap(info[0], "dy"), x = TensorWrap::unwrap(info[1], "x");
    Tensor w = TensorWrap::unwrap(info[2], "weight");
    bool has_bias = to_bool(info[3], "hasBias");
    return [dy, x, w, has_bias] {
      LinearGrads g = linear_backward(dy, x, w, has_bias);
      return object_result({{"dx", g.dx}, {"dweight", g.dweight}, {"dbias", g.dbias}});
    };
  });
  define(env, exports, "conv2d", [](const Napi::CallbackInfo& info) -> Executor::Work {
    Tensor x = TensorWrap::unwrap(info[0], "x"), w = TensorWrap::unwrap(info[1], "weight");
    Tensor b = to_optional_tensor(info[2], "bias");
    Conv2dOptions o = to_conv_options(info[3]);
    return [x, w, b, o] { return tensor_result(conv2d(x, w, b, o)); };
  });
  define(env, exports, "conv2dBackward", [](const Napi::CallbackInfo& info) -> Executor::Work {
    Tensor dy = TensorWrap::unwrap(info[0], "dy"), x = TensorWrap::unwrap(info[1], "x");
    Tensor w = TensorWrap::unwrap(info[2], "weight");
    bool has_bias = to_bool(info[3], "hasBias");
    Conv2dOptions o = to_conv_options(info[4]);
    return [dy, x, w, has_bias, o] {
      Conv2dGrads g = conv2d_backward(dy, x, w, has_bias, o);
      return object_result({{"dx", g.dx}, {"dweight", g.dweight}, {"dbias", g.dbias}});
    };
  });
}

}  // namespace dmdlk::addon
