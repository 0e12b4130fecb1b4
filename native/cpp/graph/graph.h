// The network as a graph of ops, built once per (configuration, batch, input
// size), then run as many times as needed. Each node names an op of the
// registry (ops/op.h) with its attributes; autodiff runs the nodes' backward
// in reverse, summing the gradients of values used more than once.
//
// This is the define-and-run core of docs/engine.md. Memory is planned around it
// (memory/step_memory.h): a run's tensors are slices of one arena by
// liveness, from the second run of a graph on.
#pragma once
#include <map>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "ops/op.h"

namespace dmdlk {

using ValueId = int;

enum class ValueKind {
  Input,      // fed for each run (images, masks)
  Parameter,  // trained, has a gradient
  Buffer,     // state the forward may update (BatchNorm running statistics)
  Computed,   // an op's output
};

struct ValueInfo {
  std::string name;  // parameters, buffers and inputs; empty for computed values
  Shape shape;
  DType dtype = DType::F32;
  ValueKind kind = ValueKind::Computed;
};

struct Node {
  OpKind kind = OpKind::Count;
  OpAttrs attrs;
  std::string label;   // for people: the parameter it uses (e.g. "level2.blocks.0.expand"), if any
  std::string module;  // the top-level module it belongs to (stem, level2, ..., head)
  std::vector<ValueId> inputs, outputs;
};

class Graph {
 public:
  ValueId add_value(ValueInfo info);
  // Appends a node of `node.kind` on `node.inputs`; its outputs are new values
  // of the shapes its op infers (dtype of the first input). Throws what the
  // op would for inputs it cannot take.
  std::vector<ValueId> add_node(Node node);

  const ValueInfo& value(ValueId id) const { return values_.at(size_t(id)); }
  const std::vector<ValueInfo>& values() const { return values_; }
  const std::vector<Node>& nodes() const { return nodes_; }

 private:
  std::vector<ValueInfo> values_;
  std::vector<Node> nodes_;
};

// The inputs of `node` whose gradients a backward pass needs: all but the
// graph's data inputs and buffers (nothing upstream of them to reach).
WantedGrads wanted_grads(const Graph& graph, const Node& node);

// Seconds spent per op kind, forward and backward, when a run asks for it.
struct OpProfile {
  std::map<OpKind, double> forward_seconds, backward_seconds;
};

// The tensors of one run: one slot per value. Inputs, parameters and buffers
// are set by the caller; forward fills the rest.
struct Activations {
  Tensors values;
  Tensors grads;                 // after backward: the gradient of every value that has one
  OpProfile* profile = nullptr;  // set to collect per-op times (CPU runs: times are exact there)
  // The additions run_backward made (a value read by several ops, the later
  // op not adding into its gradient): nn/step_plan.cpp plans the same.
  int64_t gradient_sums = 0;
};

// Runs every node in order. Throws if an input, parameter or buffer is missing.
// With `keep_only` (inference), every computed value not listed is freed as
// soon as its last reader has run; without it, all are kept for backward.
void run_forward(const Graph& graph, Activations& run, const std::vector<ValueId>& keep_only = {});
// Backpropagates from `loss` (a scalar value), seeding its gradient with 1.
// Values and gradients are freed as soon as no remaining backward needs them;
// the gradients of parameters (and the loss and its gradient) remain.
void run_backward(const Graph& graph, Activations& run, ValueId loss);

}  // namespace dmdlk
