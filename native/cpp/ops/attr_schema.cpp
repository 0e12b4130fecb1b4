#include "ops/attr_schema.h"

#include <cstdlib>
#include <set>

#include "ops/enum_names.h"

namespace dmdlk {

namespace {

// Reads attributes from a JSON object: a key absent keeps its default; a key
// the type does not have, or a value of the wrong kind or range, is refused.
class Reader {
 public:
  Reader(const json::Value& object, const char* op) : object_(object), op_(op) {
    DMDLK_CHECK(object.kind == json::Value::Kind::Object || object.kind == json::Value::Kind::Null,
                ErrorCode::InvalidArg, op, ": attributes must be a JSON object, got ", json::describe(object));
  }
  void integer(const char* key, int64_t& field, int64_t min, int64_t max) {
    if (const json::Value* v = take(key)) field = read_integer(key, *v, min, max, "an integer");
  }
  void pair(const char* key, int64_t& h, int64_t& w, int64_t min, int64_t max) {
    const json::Value* v = take(key);
    if (!v) return;
    if (v->kind != json::Value::Kind::Array) {
      h = w = read_integer(key, *v, min, max, "an integer or [h, w] of integers");
      return;
    }
    if (v->items.size() != 2) bad(key, "an integer or [h, w] of integers", *v);
    h = read_integer(key, v->items[0], min, max, "an integer or [h, w] of integers");
    w = read_integer(key, v->items[1], min, max, "an integer or [h, w] of integers");
  }
  void number(const char* key, double& field) {
    const json::Value* v = take(key);
    if (!v) return;
    if (v->kind != json::Value::Kind::Number) bad(key, "a number", *v);
    field = std::strtod(v->text.c_str(), nullptr);
  }
  void boolean(const char* key, bool& field) {
    const json::Value* v = take(key);
    if (!v) return;
    if (v->kind != json::Value::Kind::Bool) bad(key, "true or false", *v);
    field = v->boolean;
  }
  void shape(const char* key, Shape& field, bool required) {
    const json::Value* v = take(key);
    if (!v) {
      if (required) throw Error(ErrorCode::InvalidArg, concat(op_, ": attribute '", key, "' is required"));
      return;
    }
    if (v->kind != json::Value::Kind::Array) bad(key, "a shape (an array of integers)", *v);
    field.clear();
    for (const json::Value& d : v->items) field.push_back(read_integer(key, d, 0, kMaxAttr, "a shape"));
  }
  template <typename E, size_t N>
  void choice(const char* key, E& field, const EnumName<E> (&names)[N]) {
    const json::Value* v = take(key);
    if (!v || (v->kind == json::Value::Kind::String && enum_value(names, v->text, field))) return;
    std::string choices;
    for (const EnumName<E>& e : names) choices += (choices.empty() ? "" : ", ") + std::string(e.name);
    bad(key, concat("one of ", choices).c_str(), *v);
  }
  // After the visit: every key of the object was the type's.
  void finish() const {
    for (const auto& [key, value] : object_.members)
      if (!seen_.count(key)) throw Error(ErrorCode::InvalidArg, concat(op_, " has no attribute '", key, "'"));
  }

 private:
  const json::Value* take(const char* key) {
    seen_.insert(key);
    for (const auto& [k, v] : object_.members)
      if (k == key) return &v;
    return nullptr;
  }
  int64_t read_integer(const char* key, const json::Value& v, int64_t min, int64_t max, const char* expected) const {
    char* end = nullptr;
    long long n = std::strtoll(v.text.c_str(), &end, 10);
    if (v.kind != json::Value::Kind::Number || !end || *end != '\0') bad(key, expected, v);
    if (n < min || n > max)
      throw Error(ErrorCode::InvalidArg,
                  concat(op_, ": attribute '", key, "' must be in [", min, ", ", max, "], got ", n));
    return n;
  }
  [[noreturn]] void bad(const char* key, const char* expected, const json::Value& got) const {
    throw Error(ErrorCode::InvalidArg,
                concat(op_, ": attribute '", key, "' must be ", expected, ", got ", json::describe(got)));
  }

  const json::Value& object_;
  const char* op_;
  std::set<std::string> seen_;
};

// Lists the attributes of a type, each with its kind, range and default.
class Schema {
 public:
  void integer(const char* key, int64_t field, int64_t min, int64_t max) {
    add(key, "integer", std::to_string(field), min, max);
  }
  void pair(const char* key, int64_t h, int64_t w, int64_t min, int64_t max) {
    add(key, "pair", concat("[", h, ",", w, "]"), min, max);
  }
  void number(const char* key, double field) { add(key, "number", json::number(field), 0, 0); }
  void boolean(const char* key, bool field) { add(key, "boolean", field ? "true" : "false", 0, 0); }
  void shape(const char* key, const Shape& field, bool required) {
    std::string dims;
    for (int64_t d : field) dims += (dims.empty() ? "" : ",") + std::to_string(d);
    add(key, required ? "shape" : "optional shape", "[" + dims + "]", 0, 0);
  }
  template <typename E, size_t N>
  void choice(const char* key, E field, const EnumName<E> (&names)[N]) {
    add(key, "choice", json::quote(enum_name(names, field)), 0, 0, enum_names_json(names));
  }
  std::string str() const { return "[" + out_ + "]"; }

 private:
  void add(const char* key, const char* kind, const std::string& value, int64_t min, int64_t max,
           const std::string& choices = "[]") {
    out_ += concat(out_.empty() ? "" : ",", "{\"name\":", json::quote(key), ",\"kind\":\"", kind, "\",\"min\":", min,
                   ",\"max\":", max, ",\"choices\":", choices, ",\"default\":", value, "}");
  }
  std::string out_;
};

}  // namespace

OpAttrs parse_attrs(const OpDef& def, const json::Value& attrs) {
  OpAttrs out = def.defaults();
  std::visit(
      [&](auto& a) {
        Reader reader(attrs, def.name);
        visit_attrs(a, reader);
        reader.finish();
      },
      out);
  return out;
}

std::string op_schema_json() {
  std::string out;
  for (size_t k = 0; k < size_t(OpKind::Count); ++k) {
    const OpDef& def = op_def(OpKind(k));
    OpAttrs defaults = def.defaults();
    Schema schema;
    std::visit([&](auto& a) { visit_attrs(a, schema); }, defaults);
    out += concat(out.empty() ? "" : ",", "{\"op\":", json::quote(def.name), ",\"attrs\":", schema.str(), "}");
  }
  return "[" + out + "]";
}

}  // namespace dmdlk
