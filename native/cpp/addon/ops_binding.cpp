// The op functions: convert the arguments, queue the op on the executor,
// resolve with the result tensors. Shape and dtype checks live in the ops.
#include "addon/addon.h"
#include "addon/convert.h"
#include "addon/errors.h"
#include "addon/tensor_wrap.h"
#include "ops/attr_schema.h"
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

// conv2d's options from their JSON text (lib/ops.ts), read by its attribute
// declaration (ops/attr_schema.h) as the graph's conv2d reads them.
Conv2dOptions to_conv_options(Napi::Value value) {
  std::string text = to_string(value, "options");
  return std::get<Conv2dOptions>(parse_attrs(op_def(OpKind::Conv2d), json::parse(text.data(), text.size())));
}

}  // namespace

void define_ops(Napi::Env env, Napi::Object exports) {
  exports.Set("opSchema", Napi::Function::New(
                              env,
                              [](const Napi::CallbackInfo& info) -> Napi::Value {
                                return guarded(info.Env(), [&]() -> Napi::Value {
                                  return Napi::String::New(info.Env(), op_schema_json());
                                });
                              },
                              "opSchema"));
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
    Tensor residual = to_optional_tensor(info[4], "residual");
    return [x, w, b, o, residual] { return tensor_result(conv2d(x, w, b, o, residual)); };
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
