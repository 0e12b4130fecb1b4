// Host memory for tensors and kernel scratch buffers. Freed blocks are cached
// by (rounded) size and handed out again, as the CUDA allocator does on the
// GPU: a network's steps allocate the same sizes in the same order, so after
// the first step a training step takes no tensor memory from the system (and
// touches no fresh pages). The cache holds at most what a step used at its
// peak; release_host_cache() gives it back.
#pragma once
#include <cstddef>
#include <cstdint>

namespace dmdlk {

void* host_alloc(size_t bytes);  // 64-byte aligned; throws ERR_INVALID_ARG when the system has no memory
void host_free(void* ptr, size_t bytes);

struct HostAllocatorStats {
  uint64_t system_allocations = 0;  // blocks obtained from the system since the process started
  size_t cached_bytes = 0;          // freed blocks held for reuse
};
HostAllocatorStats host_allocator_stats();
// Returns every cached block to the system (when a model is disposed, say).
void release_host_cache();

}  // namespace dmdlk
