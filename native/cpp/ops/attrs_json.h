// An op's attributes as the JSON object parse_attrs reads back (the keys of
// test/op_cases.json, by each type's visit_attrs: ops/attr_schema.h): how the
// graph is handed to tools outside the core, such as the ONNX exporter (lib/onnx).
#pragma once
#include <string>

#include "ops/op.h"

namespace dmdlk {

std::string attrs_json(const OpAttrs& attrs);

}  // namespace dmdlk
