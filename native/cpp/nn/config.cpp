#include "nn/config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <type_traits>

#include "core/error.h"
#include "io/json.h"
#include "nn/config_schema.h"

namespace dmdlk {

namespace {

[[noreturn]] void invalid(const std::string& field, const std::string& rule, const std::string& got) {
  throw Error(ErrorCode::InvalidArg, concat("config.", field, " must be ", rule, ", got ", got));
}

// One element's value against its field's rule (config_schema.h).
void check_element(const ConfigField& f, const std::string& at, int64_t v) {
  bool ok = double(v) >= f.min && double(v) <= f.max && v % f.multiple_of == 0 && (!f.odd || v % 2 != 0);
  if (!ok) invalid(at, f.rule, std::to_string(v));
}
// A number as JavaScript's String() writes it (the shortest text that reads
// back as the same double), so that both checks show a value alike.
std::string shortest(double v) {
  char text[32];
  for (int digits = 1; digits <= 17; ++digits) {
    std::snprintf(text, sizeof text, "%.*g", digits, v);
    if (std::strtod(text, nullptr) == v) break;
  }
  return text;
}

void check_element(const ConfigField& f, const std::string& at, double v) {
  if (!(v > f.min && v <= f.max)) invalid(at, f.rule, shortest(v));
}
template <typename E>
void check_element(const ConfigField&, const std::string&, E) {}  // a choice: any value of its enum

// One element from JSON, by the type it is stored as.
void read_element(const ConfigField& f, const std::string& at, const json::Value& v, int64_t& out) {
  if (!v.is_integer() || v.text.size() > 18) invalid(at, f.rule, json::describe(v));  // 19 digits: past any rule
  out = std::stoll(v.text);
}
void read_element(const ConfigField& f, const std::string& at, const json::Value& v, double& out) {
  if (v.kind != json::Value::Kind::Number) invalid(at, f.rule, json::describe(v));
  out = std::stod(v.text);
}
template <typename E, size_t N>
void read_choice(const EnumName<E> (&names)[N], const ConfigField& f, const std::string& at, const json::Value& v,
                 E& out) {
  if (v.kind != json::Value::Kind::String || !enum_value(names, v.text, out)) invalid(at, f.rule, json::describe(v));
}
void read_element(const ConfigField& f, const std::string& at, const json::Value& v, BlockKind& out) {
  read_choice(kBlockNames, f, at, v, out);
}
void read_element(const ConfigField& f, const std::string& at, const json::Value& v, OffsetKind& out) {
  read_choice(kOffsetNames, f, at, v, out);
}

std::string write_element(int64_t v) { return std::to_string(v); }
std::string write_element(double v) { return json::number(v); }
std::string write_element(BlockKind v) { return json::quote(enum_name(kBlockNames, v)); }
std::string write_element(OffsetKind v) { return json::quote(enum_name(kOffsetNames, v)); }

template <typename T>
struct IsStages : std::false_type {};
template <typename T>
struct IsStages<std::array<T, 4>> : std::true_type {};

}  // namespace

void validate(const ModelConfig& c) {
  // Each field by its rule (config_schema.h)...
  for (const ConfigField& f : config_fields())
    std::visit(
        [&](auto member) {
          const auto& v = c.*member;
          if constexpr (IsStages<std::decay_t<decltype(v)>>::value) {
            for (size_t i = 0; i < v.size(); ++i) check_element(f, concat(f.name, "[", i, "]"), v[i]);
          } else {
            check_element(f, f.name, v);
          }
        },
        f.member);
  // ...then the rules between fields.
  for (int i = 0; i < 4; ++i) {
    std::string at = concat("[", i, "]");
    int64_t w = c.windows[size_t(i)], side = c.stage_side(i);
    if (c.blocks[size_t(i)] != BlockKind::MOAT) continue;
    if (c.widths[size_t(i)] % c.head_dim != 0)
      invalid("widths" + at, concat("a multiple of headDim (", c.head_dim, ") in a moat stage"),
              std::to_string(c.widths[size_t(i)]));
    if (w > 0 && side % w != 0)
      invalid("windows" + at, concat("a divisor of that stage's side, inputSize / ", int64_t(4) << i, " = ", side),
              std::to_string(w));
  }
}

std::string config_field_json(const ConfigField& f, const ModelConfig& c) {
  return std::visit(
      [&](auto member) {
        const auto& v = c.*member;
        if constexpr (IsStages<std::decay_t<decltype(v)>>::value) {
          std::string items;
          for (const auto& e : v) items += (items.empty() ? "" : ",") + write_element(e);
          return "[" + items + "]";
        } else {
          return write_element(v);
        }
      },
      f.member);
}

std::string config_to_json(const ModelConfig& c) {
  std::string out;
  for (const ConfigField& f : config_fields())
    out += concat(out.empty() ? "{" : ",", json::quote(f.name), ":", config_field_json(f, c));
  return out + "}";
}

ModelConfig config_from_json(const std::string& text) {
  json::Value root = json::parse(text.data(), text.size());
  if (root.kind != json::Value::Kind::Object) throw Error(ErrorCode::InvalidArg, "config must be a JSON object");
  ModelConfig c;
  const std::vector<ConfigField>& fields = config_fields();
  for (const auto& [key, v] : root.members) {
    auto f = std::find_if(fields.begin(), fields.end(), [&](const ConfigField& field) { return key == field.name; });
    if (f == fields.end()) {
      std::string known;
      for (const ConfigField& field : fields) known += (known.empty() ? "" : ", ") + std::string(field.name);
      throw Error(ErrorCode::InvalidArg, concat("config has an unknown option '", key, "' (known: ", known, ")"));
    }
    std::visit(
        [&](auto member) {
          auto& out = c.*member;
          if constexpr (IsStages<std::decay_t<decltype(out)>>::value) {
            if (v.kind != json::Value::Kind::Array || v.items.size() != out.size())
              invalid(key, concat("an array of ", out.size(), " values, each ", f->rule), json::describe(v));
            for (size_t i = 0; i < out.size(); ++i) read_element(*f, concat(key, "[", i, "]"), v.items[i], out[i]);
          } else {
            read_element(*f, key, v, out);
          }
        },
        f->member);
  }
  validate(c);
  return c;
}

}  // namespace dmdlk
