// Packing a step's buffers into one arena by liveness. Each buffer has a
// size and a lifetime [begin, end) on the step's allocation clock (the
// number of allocations made so far); two buffers alive at the same time
// never share bytes. Greedy by size: the largest buffers are placed first,
// each at the lowest offset that clears every already-placed buffer whose
// lifetime overlaps its own — the "greedy by size" strategy of Pisarchyk
// and Lee (2020), which lands within a few percent of the peak of live bytes
// on network graphs.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace dmdlk {

struct BufferLifetime {
  size_t bytes = 0;
  int64_t begin = 0;  // allocation clock at its allocation
  int64_t end = 0;    // clock when freed; kOutlivesStep when still alive at the step's end
};
constexpr int64_t kOutlivesStep = INT64_MAX;

struct MemoryPlan {
  std::vector<int64_t> offsets;  // per buffer, bytes into the arena; -1 for buffers that outlive the step
  size_t arena_bytes = 0;
  size_t peak_live_bytes = 0;  // the lower bound: most bytes alive at once (aligned sizes)
};

// Buffers that outlive the step stay out of the arena (the next step would overwrite them).
MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers, size_t alignment = 64);

}  // namespace dmdlk
