// An op's attributes, declared once. Beside each attribute type stands
//
//   template <class Visitor> void visit_attrs(Type& attrs, Visitor& v)
//
// which names every attribute as JSON does (test/op_cases.json, the graph
// JSON the ONNX exporter reads) and says its kind and range, field by field:
//
//   v.integer(name, field, min, max)    v.pair(name, h, w, min, max)   (a number or [h, w])
//   v.number(name, field)               v.boolean(name, field)
//   v.shape(name, field, required)      v.choice(name, field, names)   (an enum by its EnumName table)
//
// Everything that reads or writes attributes is a visitor of those: the
// reader (parse_attrs: JSON to attributes, unknown keys and values out of
// range refused, naming the op and the key), the writer (attrs_json), and
// the schema (op_schema_json) from which scripts/generate-schemas.cjs writes
// the TypeScript attribute types (lib/ops.generated.ts). A new attribute
// type is its struct, its visit_attrs, and its place in OpAttrs (op.h).
#pragma once
#include <string>

#include "io/json.h"
#include "ops/op.h"

namespace dmdlk {

// The attributes of an op of `def`'s kind from a JSON object (null: every
// attribute at its default, def.defaults); ERR_INVALID_ARG names the op and
// the attribute for an unknown key or a value of the wrong kind or range.
OpAttrs parse_attrs(const OpDef& def, const json::Value& attrs);

// Every op's attributes as JSON: [{"op": name, "attrs": [{"name", "kind",
// "min", "max", "choices", "default"}, …]}, …], in OpKind's order (the
// addon's opSchema(); kinds: integer, pair, number, boolean, shape, choice).
std::string op_schema_json();

}  // namespace dmdlk
