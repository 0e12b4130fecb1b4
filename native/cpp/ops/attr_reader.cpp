#include "ops/attr_reader.h"

#include <cstdlib>

namespace dmdlk {

namespace {

int64_t to_integer(const json::Value& v, bool* ok) {
  char* end = nullptr;
  long long n = std::strtoll(v.text.c_str(), &end, 10);
  *ok = v.kind == json::Value::Kind::Number && end && *end == '\0';
  return n;
}

}  // namespace

AttrReader::AttrReader(const json::Value& object, const char* op) : object_(object), op_(op) {
  DMDLK_CHECK(object.kind == json::Value::Kind::Object || object.kind == json::Value::Kind::Null, ErrorCode::InvalidArg,
              op, ": attributes must be a JSON object");
}

const json::Value* AttrReader::find(const char* key) const {
  for (const auto& [k, v] : object_.members)
    if (k == key) return &v;
  return nullptr;
}

void AttrReader::bad(const char* key, const char* expected) const {
  throw Error(ErrorCode::InvalidArg, concat(op_, ": attribute '", key, "' must be ", expected));
}

int64_t AttrReader::integer(const char* key, int64_t fallback) const {
  const json::Value* v = find(key);
  if (!v) return fallback;
  bool ok = false;
  int64_t n = to_integer(*v, &ok);
  if (!ok) bad(key, "an integer");
  return n;
}

std::pair<int64_t, int64_t> AttrReader::pair(const char* key, int64_t fallback) const {
  const json::Value* v = find(key);
  if (!v) return {fallback, fallback};
  bool ok = false;
  if (v->kind != json::Value::Kind::Array) {
    int64_t n = to_integer(*v, &ok);
    if (!ok) bad(key, "an integer or [h, w]");
    return {n, n};
  }
  bool ok_w = false;
  if (v->items.size() != 2) bad(key, "an integer or [h, w]");
  std::pair<int64_t, int64_t> hw{to_integer(v->items[0], &ok), to_integer(v->items[1], &ok_w)};
  if (!ok || !ok_w) bad(key, "an integer or [h, w]");
  return hw;
}

double AttrReader::number(const char* key, double fallback) const {
  const json::Value* v = find(key);
  if (!v) return fallback;
  if (v->kind != json::Value::Kind::Number) bad(key, "a number");
  return std::strtod(v->text.c_str(), nullptr);
}

bool AttrReader::boolean(const char* key, bool fallback) const {
  const json::Value* v = find(key);
  if (!v) return fallback;
  if (v->kind != json::Value::Kind::Bool) bad(key, "true or false");
  return v->boolean;
}

std::string AttrReader::string(const char* key, const std::string& fallback) const {
  const json::Value* v = find(key);
  if (!v) return fallback;
  if (v->kind != json::Value::Kind::String) bad(key, "a string");
  return v->text;
}

Shape AttrReader::shape(const char* key) const {
  const json::Value* v = find(key);
  if (!v || v->kind != json::Value::Kind::Array) bad(key, "a shape (an array of integers)");
  Shape s;
  for (const json::Value& d : v->items) {
    bool ok = false;
    s.push_back(to_integer(d, &ok));
    if (!ok) bad(key, "a shape (an array of integers)");
  }
  return s;
}

}  // namespace dmdlk
