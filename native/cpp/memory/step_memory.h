// The memory of one kind of step (a training step at one batch size, an
// inference at another), planned by replay. The first step runs on the
// device allocator while the size and lifetime of every allocation it makes
// are recorded; plan_memory() packs them into one arena by liveness; every
// later step, which makes the same allocations in the same order, gets each
// from its planned slice of the arena: a planned step takes no tensor memory
// from any allocator. Buffers that outlive the step (gradients handed to the
// caller, updated statistics) stay with the allocator, since the next step
// would overwrite them.
//
// It never trades safety for the plan: a step that departs from the
// recording (another size at the same position, a slice whose previous
// occupant is still alive) gets that buffer from the allocator, and the next
// step records afresh; an arena with a block still alive at the start of a
// step is left to its owners and a fresh one is made.
#pragma once
#include <memory>
#include <vector>

#include "core/storage_source.h"
#include "memory/memory_plan.h"

namespace dmdlk {

class StepMemory : public StorageSource {
 public:
  explicit StepMemory(Device device);
  ~StepMemory() override;
  StepMemory(const StepMemory&) = delete;
  StepMemory& operator=(const StepMemory&) = delete;

  // Installs the planner on the calling thread for one step. A scope opened
  // while another is active on the thread does nothing: the outer step owns
  // the plan (a training step around its forward and backward).
  class Scope {
   public:
    explicit Scope(StepMemory* memory);
    ~Scope();
    Scope(const Scope&) = delete;
    Scope& operator=(const Scope&) = delete;

   private:
    StepMemory* memory_;
  };

  struct Stats {
    int64_t recorded_steps = 0, planned_steps = 0;
    int64_t buffers = 0;         // allocations per step
    int64_t served = 0;          // of the last planned step, from the arena
    int64_t fallbacks = 0;       // of the last planned step, from the allocator though planned
    size_t arena_bytes = 0;      // the plan's arena
    size_t peak_live_bytes = 0;  // the lower bound for any arena
    size_t total_bytes = 0;      // every planned buffer's size added up: memory without reuse
  };
  Stats stats() const { return stats_; }

  StorageGrant allocate(size_t bytes, Device device) override;

  // Off when DMDLK_MEMORY_PLAN=0 (for comparisons): steps then use the allocator.
  static bool enabled();

  // Whether the next step will be served by the plan (at least one planned
  // step has run and nothing since departed from it).
  bool planned() const { return planned_ && !stale_ && stats_.planned_steps > 0; }

  // Pins the memory of the next step, for a CUDA graph captured from it
  // (nn/step_graph.h), whose replays write every buffer that step used: the
  // returned handle holds the arena, and the buffers the arena does not
  // serve (the step's outputs) come from blocks that stay allocated until
  // the handle dies, never back to the allocator in between. That step
  // fails with ERR_INTERNAL unless the plan serves it.
  std::shared_ptr<void> pin_next_step();

 private:
  struct Recording;
  struct Arena;
  struct Pinned;
  // begin_step may throw (the arena is allocated there, before the step
  // uses it); end_step runs in Scope's destructor and never throws.
  void begin_step();
  void end_step(bool failed) noexcept;

  Device device_;
  std::shared_ptr<Recording> recording_;  // during a recorded step
  std::vector<BufferLifetime> lifetimes_;
  MemoryPlan plan_;
  std::shared_ptr<Arena> arena_;  // null until the first planned step allocates it
  std::shared_ptr<std::vector<int64_t>> offsets_;
  std::shared_ptr<std::vector<size_t>> sizes_;
  std::shared_ptr<Pinned> pinned_;  // for the next (or current) step only
  bool planned_ = false, replaying_ = false, stale_ = false;
  int64_t next_ = 0;
  Stats stats_;
};

}  // namespace dmdlk
