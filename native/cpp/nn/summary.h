// What each top-level module of a configuration costs: trained parameters,
// multiply-accumulates of one forward pass per image, and the activation
// memory a training step keeps per image (every value the graph computes,
// before memory planning shares buffers between values that are not live at
// the same time).
#pragma once
#include <string>
#include <vector>

#include "nn/config.h"

namespace dmdlk {

struct ModuleCost {
  std::string module;  // stem, level2, ..., decoder1, head
  int64_t parameters = 0;
  int64_t macs = 0;              // per image, forward
  int64_t offset_macs = 0;       // of which in DDLK's offset convolutions
  int64_t activation_bytes = 0;  // per image, training
};

std::vector<ModuleCost> summarize(const ModelConfig& config);

}  // namespace dmdlk
