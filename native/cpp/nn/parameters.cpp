#include "nn/parameters.h"

#include "nn/network.h"

namespace dmdlk {

// The layout is what the network builder declares (network.cpp): built once
// for a batch of one, whose graph is then dropped.
std::vector<TensorSpec> checkpoint_layout(const ModelConfig& config) {
  return build_network(config, 1, NetworkMode::Eval).layout;
}

int64_t parameter_count(const ModelConfig& config) {
  int64_t n = 0;
  for (const TensorSpec& s : checkpoint_layout(config))
    if (s.kind == TensorKind::Parameter) n += shape_numel(s.shape);
  return n;
}

}  // namespace dmdlk
