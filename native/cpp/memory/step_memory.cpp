#include "memory/step_memory.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <mutex>
#include <new>
#include <utility>

#include "core/cuda_runtime.h"
#include "core/error.h"
#include "core/host_allocator.h"

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/asan_interface.h>
// A free slice of a host arena is poisoned, so AddressSanitizer reports any
// use of a buffer after its step released it, as it would for freed memory.
#define DMDLK_POISON(device, p, n) (device.is_cpu() ? ASAN_POISON_MEMORY_REGION(p, n) : (void)0)
#define DMDLK_UNPOISON(device, p, n) (device.is_cpu() ? ASAN_UNPOISON_MEMORY_REGION(p, n) : (void)0)
#else
#define DMDLK_POISON(device, p, n) ((void)0)
#define DMDLK_UNPOISON(device, p, n) ((void)0)
#endif

namespace dmdlk {

namespace {

constexpr size_t kSliceAlignment = 256;  // CUDA's allocation alignment; also a multiple of the host's 64

void* device_alloc(Device d, size_t bytes) { return d.is_cuda() ? cuda::alloc(d.index, bytes) : host_alloc(bytes); }
void device_free(Device d, void* p, size_t bytes) {
  if (d.is_cuda()) cuda::free(d.index, p, bytes);
  else host_free(p, bytes);
}

}  // namespace

// The log of a recorded step; storages freed after the step keep it alive.
struct StepMemory::Recording {
  std::mutex mutex;
  std::vector<BufferLifetime> buffers;
  int64_t clock = 0;
  bool active = true;

  static void release(void* owner, int64_t slot, void* data, size_t bytes, Device device) {
    auto* r = static_cast<Recording*>(owner);
    {
      std::lock_guard<std::mutex> lock(r->mutex);
      if (r->active) r->buffers[size_t(slot)].end = r->clock;
    }
    device_free(device, data, bytes);
  }
};

// One arena and which of its slices are in use; storages keep it alive.
struct StepMemory::Arena {
  Device device;
  void* base = nullptr;
  size_t bytes = 0;
  std::mutex mutex;
  std::vector<int64_t> live;      // slots in use
  std::vector<int64_t> position;  // of each slot in `live`, −1 when free
  // The plan it serves, shared with the StepMemory: either may outlive the other.
  std::shared_ptr<const std::vector<int64_t>> offsets;
  std::shared_ptr<const std::vector<size_t>> sizes;

  Arena(Device d, size_t n, std::shared_ptr<const std::vector<int64_t>> o, std::shared_ptr<const std::vector<size_t>> s)
      : device(d),
        base(n ? device_alloc(d, n) : nullptr),
        bytes(n),
        position(o->size(), -1),
        offsets(std::move(o)),
        sizes(std::move(s)) {
    size_t slots = offsets->size();
    live.reserve(slots);
    if (base) DMDLK_POISON(device, base, bytes);
  }
  ~Arena() {
    if (!base) return;
    DMDLK_UNPOISON(device, base, bytes);
    device_free(device, base, bytes);
  }

  // Takes `slot` unless a live slice overlaps its bytes.
  bool take(int64_t slot) {
    int64_t lo = (*offsets)[size_t(slot)], hi = lo + int64_t((*sizes)[size_t(slot)]);
    std::lock_guard<std::mutex> lock(mutex);
    for (int64_t other : live) {
      int64_t olo = (*offsets)[size_t(other)], ohi = olo + int64_t((*sizes)[size_t(other)]);
      if (lo < ohi && olo < hi) return false;
    }
    position[size_t(slot)] = int64_t(live.size());
    live.push_back(slot);
    DMDLK_UNPOISON(device, static_cast<char*>(base) + lo, size_t(hi - lo));
    return true;
  }

  bool idle() {
    std::lock_guard<std::mutex> lock(mutex);
    return live.empty();
  }

  static void release(void* owner, int64_t slot, void*, size_t, Device) {
    auto* a = static_cast<Arena*>(owner);
    std::lock_guard<std::mutex> lock(a->mutex);
    int64_t at = a->position[size_t(slot)];
    a->live[size_t(at)] = a->live.back();
    a->position[size_t(a->live.back())] = at;
    a->live.pop_back();
    a->position[size_t(slot)] = -1;
    DMDLK_POISON(a->device, static_cast<char*>(a->base) + (*a->offsets)[size_t(slot)], (*a->sizes)[size_t(slot)]);
  }
};

// The memory a captured step holds: its arena, and the blocks of the buffers
// the arena did not serve, each allocated once and freed with this object.
struct StepMemory::Pinned {
  Device device;
  std::shared_ptr<Arena> arena;
  std::mutex mutex;
  std::vector<std::pair<void*, size_t>> blocks;

  explicit Pinned(Device d) : device(d) {}
  ~Pinned() {
    for (auto [data, bytes] : blocks) device_free(device, data, bytes);
  }
  StorageGrant grant(const std::shared_ptr<Pinned>& self, size_t bytes) {
    void* data = device_alloc(device, bytes);
    std::lock_guard<std::mutex> lock(mutex);
    blocks.emplace_back(data, bytes);
    return {data, &Pinned::release, self, int64_t(blocks.size()) - 1};
  }
  static void release(void*, int64_t, void*, size_t, Device) {}  // freed with the Pinned
};

namespace {
thread_local StepMemory* active_memory = nullptr;
}

bool StepMemory::enabled() {
  const char* v = std::getenv("DMDLK_MEMORY_PLAN");  // read per step: a test or benchmark may switch it
  return !(v && std::strcmp(v, "0") == 0);
}

StepMemory::StepMemory(Device device) : device_(device) {}

StepMemory::~StepMemory() = default;

StepMemory::Scope::Scope(StepMemory* memory) : memory_(nullptr) {
  if (!memory || active_memory || !enabled())
    return;              // nested, or planning off: the outer step (or the allocator) serves
  memory->begin_step();  // first: when it throws (no memory for the arena) nothing is left half set
  memory_ = memory;
  active_memory = memory;
  set_storage_source(memory);
}

StepMemory::Scope::~Scope() {
  if (!memory_) return;
  set_storage_source(nullptr);
  active_memory = nullptr;
  memory_->end_step(std::uncaught_exceptions() > 0);
}

std::shared_ptr<void> StepMemory::pin_next_step() {
  pinned_ = std::make_shared<Pinned>(device_);
  return pinned_;
}

void StepMemory::begin_step() {
  next_ = 0;
  replaying_ = planned_ && !stale_;
  std::shared_ptr<Pinned> pinned = std::exchange(pinned_, nullptr);
  DMDLK_CHECK(!pinned || replaying_, ErrorCode::Internal, "a step's memory can be pinned only once it is planned");
  if (replaying_) {
    // The first planned step allocates the arena; a later one a fresh arena
    // when a slice of the last step is still in use (left to that step).
    // Where it does not fit in memory, the step runs unplanned (recorded
    // again), from the allocator, as the first step did; a pinned one fails.
    // A pinned step gets an arena of its own, for its graph alone (replays
    // do not check what else lives in it); the planner's own is let go, and
    // made again should steps of this kind run as launched later.
    try {
      if (pinned) arena_.reset();
      if (pinned || !arena_ || !arena_->idle())
        arena_ = std::make_shared<Arena>(device_, plan_.arena_bytes, offsets_, sizes_);
      stats_.served = stats_.fallbacks = 0;
      if (pinned) pinned->arena = arena_, pinned_ = std::move(pinned);
      return;
    } catch (const Error& e) {
      if (pinned || (e.code() != ErrorCode::HostOom && e.code() != ErrorCode::GpuOom)) throw;
      arena_.reset();
      replaying_ = false;
    } catch (const std::bad_alloc&) {
      if (pinned) throw;
      arena_.reset();
      replaying_ = false;
    }
  }
  recording_ = std::make_shared<Recording>();
  recording_->buffers.reserve(lifetimes_.size() + 64);
}

StorageGrant StepMemory::allocate(size_t bytes, Device device) {
  if (device != device_) return {};
  if (!replaying_) {
    std::lock_guard<std::mutex> lock(recording_->mutex);
    int64_t slot = int64_t(recording_->buffers.size());
    recording_->buffers.push_back({bytes, recording_->clock++, kOutlivesStep});
    return {device_alloc(device, bytes), &Recording::release, recording_, slot};
  }
  int64_t slot = next_++;
  // What the arena does not serve comes from the allocator, or from pinned blocks.
  auto outside = [&] { return pinned_ ? pinned_->grant(pinned_, bytes) : StorageGrant{}; };
  if (slot >= int64_t(lifetimes_.size()) || lifetimes_[size_t(slot)].bytes != bytes) {
    stale_ = true;  // not the recorded step: record the next one
    return outside();
  }
  if (plan_.offsets[size_t(slot)] < 0) return outside();  // outlives the step
  if (!arena_->take(slot)) {
    ++stats_.fallbacks;
    return outside();
  }
  ++stats_.served;
  return {static_cast<char*>(arena_->base) + plan_.offsets[size_t(slot)], &Arena::release, arena_, slot};
}

void StepMemory::end_step(bool failed) noexcept {
  if (pinned_) arena_.reset();  // the graph's now
  pinned_.reset();
  if (replaying_) {
    if (failed || next_ != int64_t(lifetimes_.size())) stale_ = true;
    else ++stats_.planned_steps;
    return;
  }
  try {
    {
      std::lock_guard<std::mutex> lock(recording_->mutex);
      recording_->active = false;
      if (!failed) lifetimes_ = recording_->buffers;
    }
    recording_.reset();  // storages still alive keep their log; it no longer matters
    if (failed) return;  // a partial step is no plan: record again next time
    plan_ = plan_memory(lifetimes_, kSliceAlignment);
    sizes_ = std::make_shared<std::vector<size_t>>(lifetimes_.size());
    offsets_ = std::make_shared<std::vector<int64_t>>(plan_.offsets);
  } catch (...) {  // out of host memory for the plan itself: record again next time
    planned_ = false;
    return;
  }
  stats_.total_bytes = 0;
  for (size_t i = 0; i < lifetimes_.size(); ++i) {
    (*sizes_)[i] = (std::max<size_t>(lifetimes_[i].bytes, 1) + kSliceAlignment - 1) / kSliceAlignment * kSliceAlignment;
    if (plan_.offsets[i] >= 0) stats_.total_bytes += (*sizes_)[i];
  }
  arena_.reset();  // the next step allocates it, where an allocation may fail
  planned_ = true;
  stale_ = false;
  ++stats_.recorded_steps;
  stats_.buffers = int64_t(lifetimes_.size());
  stats_.arena_bytes = plan_.arena_bytes;
  stats_.peak_live_bytes = plan_.peak_live_bytes;
}

}  // namespace dmdlk
