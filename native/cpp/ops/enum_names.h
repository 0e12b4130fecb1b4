// The names an attribute enum's values take in JSON (op attributes, graph
// JSON for the ONNX exporter, op cases): one table per enum, beside the enum,
// read by both the parser and the writer. No fallback: a name not in the table
// is ERR_INVALID_ARG listing the table, and a value not in it is an internal
// error. test_gradcheck fails for a table entry with no gradient case.
#pragma once
#include <cstddef>
#include <string>

#include "core/error.h"

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

// `what` names the attribute in the message: "activation: kind".
template <typename E, size_t N>
E enum_value(const EnumName<E> (&table)[N], const std::string& name, const char* what) {
  std::string names;
  for (const EnumName<E>& entry : table) {
    if (name == entry.name) return entry.value;
    names += names.empty() ? "" : ", ", names += entry.name;
  }
  throw Error(ErrorCode::InvalidArg, concat(what, " must be one of ", names, "; got '", name, "'"));
}

}  // namespace dmdlk
