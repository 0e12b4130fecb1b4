// The names an attribute enum's values take in JSON (op attributes, graph
// JSON for the ONNX exporter, op cases, the configuration): one table per
// enum, beside the enum, read by the readers and writers of
// ops/attr_schema.h and nn/config_schema.h. No fallback: a name not in the
// table is refused, listing the table, and a value not in it is an internal
// error. The op suites fail for a table entry no case covers (op_cases.h).
#pragma once
#include <cstddef>
#include <string>

#include "core/error.h"
#include "io/json.h"

namespace dmdlk {

template <typename E>
struct EnumName {
  E value;
  const char* name;
};

template <typename E, size_t N>
const char* enum_name(const EnumName<E> (&table)[N], E value) {
  for (const EnumName<E>& entry : table)
    if (entry.value == value) return entry.name;
  throw Error(ErrorCode::Internal, concat("an enum value with no name (", int(value), ")"));
}

// The value the table names `name`; false where it names none.
template <typename E, size_t N>
bool enum_value(const EnumName<E> (&table)[N], const std::string& name, E& value) {
  for (const EnumName<E>& entry : table)
    if (name == entry.name) {
      value = entry.value;
      return true;
    }
  return false;
}

// The table's names as a JSON array: ["gelu","silu","sigmoid"].
template <typename E, size_t N>
std::string enum_names_json(const EnumName<E> (&table)[N]) {
  std::string out;
  for (const EnumName<E>& entry : table) out += (out.empty() ? "" : ",") + json::quote(entry.name);
  return "[" + out + "]";
}

}  // namespace dmdlk
