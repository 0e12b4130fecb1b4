// An op's attributes as the JSON object its OpDef's parse_attrs reads back
// (the keys of test/op_cases.json): how the graph is handed to tools outside
// the core, such as the ONNX exporter (lib/onnx).
#pragma once
#include <string>

#include "ops/op.h"

namespace dmdlk {

std::string attrs_json(const OpAttrs& attrs);

}  // namespace dmdlk
