// The CUDA launches of a model's steps, planned on the host without a GPU:
// what fit's training step (batch preparation, forward, backward, the
// finiteness check, Adam) and predict's forward launch on a GPU, each with
// the op and shapes it serves. test_launch_plans holds every one of them to
// the rules of native/cpp/gpu/time_model.h; `bench_model --plan-only` sums their
// modelled times per op kind.
#pragma once
#include <string>
#include <vector>

#include "gpu/launch_plan.h"
#include "nn/network.h"

namespace dmdlk {

struct PlannedLaunch {
  std::string op;      // the op kind, or the step's part (adam, prepare_batch, ...)
  std::string where;   // for people: the node's label and pass, e.g. "conv2d level2.blocks.0.expand backward"
  std::string shapes;  // its inputs' shapes
  cuda::LaunchPlan plan;
};

std::vector<PlannedLaunch> plan_training_step(const ModelConfig& config, int64_t batch,
                                              LossKind loss = LossKind::CrossEntropy);
std::vector<PlannedLaunch> plan_inference(const ModelConfig& config, int64_t batch);

}  // namespace dmdlk
