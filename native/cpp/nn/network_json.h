// A configuration's inference graph at one batch size as JSON, for tools
// outside the core (the ONNX exporter, lib/onnx/export.ts):
//   {"images": id, "logits": id,
//    "values": [{"name", "shape", "kind": input|parameter|buffer|computed}],
//    "nodes": [{"op", "attrs", "label", "module", "inputs": [ids], "outputs": [ids]}]}
// Ops are named as their OpDefs, attributes as attrs_json writes them;
// parameters and buffers by their checkpoint names.
#pragma once
#include <string>

#include "nn/config.h"

namespace dmdlk {

std::string network_json(const ModelConfig& config, int64_t batch);

}  // namespace dmdlk
