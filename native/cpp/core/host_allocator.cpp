#include "core/host_allocator.h"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <mutex>
#include <unordered_map>

#include "core/error.h"
#include "core/platform.h"

namespace dmdlk {

namespace {

constexpr size_t kAlignment = 64;

struct Cache {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;    // by capacity
  std::unordered_map<void*, size_t> capacity;  // of every block handed out
  size_t cached = 0;
  uint64_t system_allocations = 0;
};

// Never destroyed: tensors may be freed during static destruction at exit.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

// Sizes round up to a step that grows with the size (64 B below 64 KiB,
// 64 KiB below 4 MiB, 1 MiB above), so that nearly equal requests share blocks.
size_t rounded(size_t bytes) {
  size_t unit = bytes < (size_t(64) << 10)  ? kAlignment
                : bytes < (size_t(4) << 20) ? (size_t(64) << 10)
                                            : (size_t(1) << 20);
  return std::max(unit, (bytes + unit - 1) / unit * unit);
}

void* system_alloc(size_t bytes) {
  void* p = platform::aligned_allocate(kAlignment, bytes);
  DMDLK_CHECK(p != nullptr, ErrorCode::HostOom, "out of host memory allocating ", bytes, " bytes");
  std::lock_guard<std::mutex> lock(cache().mutex);
  ++cache().system_allocations;
  cache().capacity[p] = bytes;
  return p;
}

}  // namespace

void* host_alloc(size_t bytes) {
  size_t size = rounded(bytes);
  {
    // The smallest cached block that fits, if it is at most twice the size:
    // activations of different shapes then share blocks as they come and go.
    std::lock_guard<std::mutex> lock(cache().mutex);
    auto it = cache().free_blocks.lower_bound(size);
    if (it != cache().free_blocks.end() && it->first <= 2 * size) {
      void* p = it->second;
      cache().cached -= it->first;
      cache().free_blocks.erase(it);
      return p;
    }
  }
  return system_alloc(size);
}

void host_free(void* ptr, size_t) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(cache().mutex);
#ifdef __SANITIZE_ADDRESS__
  // Under AddressSanitizer a cached block would hide every use after free: give it back at once.
  cache().capacity.erase(ptr);
  platform::aligned_release(ptr);
  return;
#endif
  size_t capacity = cache().capacity.at(ptr);
  cache().free_blocks.emplace(capacity, ptr);
  cache().cached += capacity;
}

HostAllocatorStats host_allocator_stats() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  return {cache().system_allocations, cache().cached};
}

void release_host_cache() {
  std::lock_guard<std::mutex> lock(cache().mutex);
  for (auto& [size, p] : cache().free_blocks) {
    cache().capacity.erase(p);
    platform::aligned_release(p);
  }
  cache().free_blocks.clear();
  cache().cached = 0;
}

}  // namespace dmdlk
