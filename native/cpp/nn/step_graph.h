// Steps replayed as CUDA graphs. Once its memory is planned
// (memory/step_memory.h), a step of one kind — a training step's forward and
// backward at one batch size, an inference at another — launches the same
// kernels with the same arguments on the same buffers every time. So, after
// one planned step, the next is captured as a graph, and every later one
// replays it: one launch for the host instead of ~1,800, and none of the
// host's time between kernels.
//
// A step is `work`: a function of its input tensors that returns its output
// tensors. What changes between steps comes in through the inputs, copied
// into the buffers the capture read; the outputs are the buffers the capture
// wrote, overwritten by the next replay (copy what must outlive it). The
// work must read nothing else that changes: the model's weights are updated
// in place, and replacing them (a new `version`) drops the graph, as does
// another matmul precision (part of the key). Work that cannot be captured
// (it synchronises, or copies from host memory) fails its capture: that kind
// of step then runs as launched, and `stats()` says why.
//
// Never captured on the CPU, under DMDLK_CUDA_GRAPHS=0 (read per step, as
// DMDLK_MEMORY_PLAN is), or without the memory plan.
#pragma once
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "core/cuda_runtime.h"
#include "core/matmul_precision.h"
#include "core/tensor.h"
#include "memory/step_memory.h"

namespace dmdlk {

class StepGraphs {
 public:
  using Work = std::function<std::vector<Tensor>(const std::vector<Tensor>& inputs)>;
  // The kind of a step: batch size, mode and loss (as the networks and their
  // memory plans are keyed), and the matmul precision its kernels were chosen under.
  using Key = std::tuple<int64_t, int, int, MatmulPrecision>;

  struct Result {
    // A step run as launched is still open: what the caller does with the
    // outputs (the update) is part of it, and what it frees then, the plan
    // serves again next step. Closed when the Result goes, after its outputs.
    std::unique_ptr<StepMemory::Scope> open_step;
    std::vector<Tensor> outputs;
    bool from_graph = false;  // the outputs are the graph's: the next replay overwrites them
  };
  // One step of kind `key` on `device`, under `memory`'s plan: replayed,
  // captured, or run as launched (see above). `version` names the state the
  // work reads; a graph captured under another is dropped.
  Result run(const Key& key, Device device, StepMemory& memory, uint64_t version, const std::vector<Tensor>& inputs,
             const Work& work);

  struct Stats {
    int64_t captures = 0, replays = 0, failures = 0;
    std::string last_failure;  // why the last capture failed
  };
  const Stats& stats() const { return stats_; }

  // A step run as launched, never captured.
  static Result launched(StepMemory& memory, const std::vector<Tensor>& inputs, const Work& work);

  static bool enabled();    // DMDLK_CUDA_GRAPHS is not "0"
  static bool capturing();  // whether this thread's work is being captured (nothing it queues runs yet)

 private:
  struct Captured {
    std::shared_ptr<cuda::Graph> graph;
    std::shared_ptr<void> memory;  // StepMemory::pin_next_step's hold
    std::vector<Tensor> inputs, outputs;
    uint64_t version = 0;
    bool failed = false;  // this kind of step cannot be captured: run it as launched
  };
  Result capture(Captured& c, Device device, StepMemory& memory, uint64_t version, const std::vector<Tensor>& inputs,
                 const Work& work);

  std::map<Key, Captured> captured_;
  Stats stats_;
};

}  // namespace dmdlk
