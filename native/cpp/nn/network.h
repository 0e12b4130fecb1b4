// DMDLK-Net as a graph (docs/architecture.md, "Modules"), for one configuration,
// batch size and mode. Training graphs take class-index masks and end in the
// loss (mean softmax cross-entropy, plus soft Dice on request), with BatchNorm on batch statistics
// updating its running statistics; evaluation graphs end in the logits.
#pragma once
#include <string>
#include <utility>
#include <vector>

#include "graph/graph.h"
#include "nn/config.h"
#include "nn/parameters.h"

namespace dmdlk {

enum class NetworkMode { Train, Eval };
// The training loss: the paper's cross-entropy, or cross-entropy + soft Dice.
enum class LossKind { CrossEntropy, CrossEntropyDice };
// "ce" or "ce+dice", the loss's name in the API and in checkpoints; throws ERR_INVALID_ARG for others.
LossKind loss_kind(const std::string& name);

struct Network {
  Graph graph;
  ValueId images = -1;  // [B, inChannels, S, S] float32
  ValueId masks = -1;   // [B, S, S] int32, training only
  ValueId logits = -1;  // [B, numClasses, S, S]
  ValueId loss = -1;    // scalar, training only
  // Every checkpoint tensor's value, in checkpoint order (parameters and buffers),
  // and its spec: the modules declare them as the network is built.
  std::vector<std::pair<std::string, ValueId>> state;
  std::vector<TensorSpec> layout;
};

Network build_network(const ModelConfig& config, int64_t batch, NetworkMode mode,
                      LossKind loss = LossKind::CrossEntropy);

}  // namespace dmdlk
