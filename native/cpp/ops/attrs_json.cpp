#include "ops/attrs_json.h"

#include <sstream>

#include "io/json.h"

namespace dmdlk {

namespace {

// Builds one JSON object, key by key, in the order written.
class Object {
 public:
  Object& add(const char* key, const std::string& literal) {
    out_ << (first_ ? "" : ", ") << json::quote(key) << ": " << literal;
    first_ = false;
    return *this;
  }
  Object& integer(const char* key, int64_t v) { return add(key, std::to_string(v)); }
  Object& boolean(const char* key, bool v) { return add(key, v ? "true" : "false"); }
  Object& pair(const char* key, int64_t a, int64_t b) {
    return add(key, "[" + std::to_string(a) + ", " + std::to_string(b) + "]");
  }
  Object& shape(const char* key, const Shape& s) {
    std::string text = "[";
    for (size_t i = 0; i < s.size(); ++i) text += (i ? ", " : "") + std::to_string(s[i]);
    return add(key, text + "]");
  }
  Object& number(const char* key, double v) { return add(key, json::number(v)); }
  Object& string(const char* key, const std::string& v) { return add(key, json::quote(v)); }
  std::string str() const { return "{" + out_.str() + "}"; }

 private:
  std::ostringstream out_;
  bool first_ = true;
};

// Writes every attribute of a type (ops/attr_schema.h) into an Object.
struct Writer {
  Object& j;
  void integer(const char* key, int64_t v, int64_t, int64_t) { j.integer(key, v); }
  void pair(const char* key, int64_t h, int64_t w, int64_t, int64_t) { j.pair(key, h, w); }
  void number(const char* key, double v) { j.number(key, v); }
  void boolean(const char* key, bool v) { j.boolean(key, v); }
  void shape(const char* key, const Shape& s, bool required) {
    if (required || !s.empty()) j.shape(key, s);
  }
  template <typename E, size_t N>
  void choice(const char* key, E v, const EnumName<E> (&names)[N]) {
    j.string(key, enum_name(names, v));
  }
};

}  // namespace

std::string attrs_json(const OpAttrs& attrs) {
  Object j;
  Writer writer{j};
  OpAttrs copy = attrs;  // visit_attrs takes its attributes by reference, for the reader
  std::visit([&](auto& a) { visit_attrs(a, writer); }, copy);
  return j.str();
}

}  // namespace dmdlk
