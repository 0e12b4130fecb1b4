// Reads an op's attributes from a JSON object, as the op cases
// (test/op_cases.json) and tools describe them: each OpDef's parse_attrs uses
// it, so a new op brings its own reading. Missing keys take the fallback;
// a value of the wrong kind is an ERR_INVALID_ARG naming the op and the key.
#pragma once
#include <string>

#include "core/tensor.h"
#include "io/json.h"

namespace dmdlk {

class AttrReader {
 public:
  AttrReader(const json::Value& object, const char* op);
  int64_t integer(const char* key, int64_t fallback) const;
  // A number, or an [h, w] pair (returned as {h, w}).
  std::pair<int64_t, int64_t> pair(const char* key, int64_t fallback) const;
  double number(const char* key, double fallback) const;
  bool boolean(const char* key, bool fallback) const;
  std::string string(const char* key, const std::string& fallback) const;
  Shape shape(const char* key) const;  // required

  // A convolution's stride, padding, dilation and groups (conv2d's and
  // deform_conv2d's options, whose fields are the same).
  template <typename Options>
  Options convolution() const {
    auto [sh, sw] = pair("stride", 1);
    auto [ph, pw] = pair("padding", 0);
    auto [dh, dw] = pair("dilation", 1);
    return Options{sh, sw, ph, pw, dh, dw, integer("groups", 1)};
  }

 private:
  const json::Value* find(const char* key) const;
  [[noreturn]] void bad(const char* key, const char* expected) const;

  const json::Value& object_;
  const char* op_;
};

}  // namespace dmdlk
