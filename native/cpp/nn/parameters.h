// Every tensor of a DMDLK-Net checkpoint for a configuration: name, shape,
// kind and initialisation, in checkpoint order (the order in which the
// PyTorch model of docs/architecture.md registers them, so state_dicts line
// up). The network's modules declare them as they are built (network.cpp):
// the layout is that one walk's.
#pragma once
#include <string>
#include <vector>

#include "core/tensor.h"
#include "nn/config.h"

namespace dmdlk {

enum class TensorKind { Parameter, Buffer };  // Buffer: BatchNorm running statistics

// docs/architecture.md, "Initialisation": PyTorch's defaults, except attention
// projections (truncated normal, std 0.02), zero biases there, zero rel_pos,
// and zero offset convolutions.
enum class Init {
  KaimingUniform,  // U(±1/√fan_in): PyTorch's conv/linear weight and bias default
  TruncNormal,     // N(0, 0.02²) truncated to [−2, 2]
  Zeros,
  Ones,
};

struct TensorSpec {
  std::string name;
  Shape shape;
  TensorKind kind = TensorKind::Parameter;
  Init init = Init::KaimingUniform;
  int64_t fan_in = 0;  // for KaimingUniform: the input elements per output (Cin/groups · kh · kw)
};

std::vector<TensorSpec> checkpoint_layout(const ModelConfig& config);
int64_t parameter_count(const ModelConfig& config);  // trained parameters, buffers excluded

}  // namespace dmdlk
