#include "memory/memory_plan.h"

#include <algorithm>
#include <numeric>

namespace dmdlk {

namespace {

size_t aligned(size_t bytes, size_t alignment) { return (bytes + alignment - 1) / alignment * alignment; }

bool overlap_in_time(const BufferLifetime& a, const BufferLifetime& b) { return a.begin < b.end && b.begin < a.end; }

}  // namespace

MemoryPlan plan_memory(const std::vector<BufferLifetime>& buffers, size_t alignment) {
  MemoryPlan plan;
  plan.offsets.assign(buffers.size(), -1);
  std::vector<size_t> order;
  for (size_t i = 0; i < buffers.size(); ++i)
    if (buffers[i].end != kOutlivesStep) order.push_back(i);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return buffers[a].bytes > buffers[b].bytes; });

  std::vector<size_t> placed;                      // in placement order
  std::vector<std::pair<int64_t, int64_t>> taken;  // [offset, offset + size) of conflicting placed buffers
  for (size_t i : order) {
    size_t size = aligned(std::max<size_t>(buffers[i].bytes, 1), alignment);
    taken.clear();
    for (size_t j : placed)
      if (overlap_in_time(buffers[i], buffers[j]))
        taken.emplace_back(plan.offsets[j],
                           plan.offsets[j] + int64_t(aligned(std::max<size_t>(buffers[j].bytes, 1), alignment)));
    std::sort(taken.begin(), taken.end());
    // The lowest gap that fits; best-fit among gaps would pack a little tighter
    // but first-fit keeps the large early buffers at the bottom, where they belong.
    int64_t offset = 0;
    for (const auto& [lo, hi] : taken) {
      if (lo - offset >= int64_t(size)) break;
      offset = std::max(offset, hi);
    }
    plan.offsets[i] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, size_t(offset) + size);
    placed.push_back(i);
  }

  // The peak of live bytes: a sweep over allocation and free events.
  std::vector<std::pair<int64_t, int64_t>>
      events;  // (clock, +bytes / −bytes); frees sort before allocations at a clock
  for (size_t i : order) {
    int64_t size = int64_t(aligned(std::max<size_t>(buffers[i].bytes, 1), alignment));
    events.emplace_back(buffers[i].begin, size);
    events.emplace_back(buffers[i].end, -size);
  }
  std::sort(events.begin(), events.end());
  int64_t live = 0;
  for (const auto& [clock, delta] : events)
    plan.peak_live_bytes = size_t(std::max<int64_t>(int64_t(plan.peak_live_bytes), live += delta));
  return plan;
}

}  // namespace dmdlk
