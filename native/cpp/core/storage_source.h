// Where a tensor's memory comes from. By default the device's caching
// allocator; while a StorageSource is installed on a thread (the step memory
// planner, during a training or inference step), new storages on that thread
// ask it first. The hook is small on purpose: a grant is plain data, so
// serving an allocation allocates nothing.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "core/device.h"

namespace dmdlk {

struct StorageGrant {
  void* data = nullptr;  // null: the source declines; the device allocator serves it
  // Called when the storage dies, instead of the allocator's free (any thread).
  void (*release)(void* owner, int64_t slot, void* data, size_t bytes, Device device) = nullptr;
  std::shared_ptr<void> owner;  // kept alive as long as the storage
  int64_t slot = -1;
};

class StorageSource {
 public:
  virtual ~StorageSource() = default;
  virtual StorageGrant allocate(size_t bytes, Device device) = 0;
};

StorageSource* storage_source();  // this thread's, or null
void set_storage_source(StorageSource* source);

}  // namespace dmdlk
