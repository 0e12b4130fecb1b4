// A small, strict JSON reader and string escaper: enough for safetensors
// headers, and safe on hostile input (bounded nesting, no recursion blow-up,
// every error an ERR_FORMAT naming the byte offset).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dmdlk::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object } kind = Kind::Null;
  bool boolean = false;
  std::string text;                                    // a String's contents, or a Number's literal
  std::vector<Value> items;                            // Array
  std::vector<std::pair<std::string, Value>> members;  // Object, in file order

  bool is_integer() const;  // a Number without fraction or exponent
  // The Number as a non-negative integer; throws ERR_FORMAT if it is not one
  // or exceeds 2^63 - 1. `what` names the field in the message.
  uint64_t as_index(const char* what) const;
};

Value parse(const char* data, size_t size);
std::string quote(const std::string& s);  // a JSON string literal, escaped
std::string number(double v);             // a JSON number that reads back as the same double (%.17g)
// A value as error messages show what was given: 100, 'text', true, null,
// "an array of 3 values", "an object".
std::string describe(const Value& v);

}  // namespace dmdlk::json
