// The host-side CUDA services the core needs: discovery, memory, copies, one
// stream per device. Implemented in native/cuda/runtime.cu when the build has
// CUDA, and by core/cuda_absent.cpp when it does not, so nothing above this
// header needs #ifdefs.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace dmdlk::cuda {

struct GpuInfo {
  int index = 0;
  std::string name;
  int major = 0, minor = 0;  // compute capability
  size_t total_memory = 0;   // bytes
  int multiprocessors = 0;
};

struct Availability {
  bool compiled = false;      // this binary holds CUDA code
  bool available = false;     // and a usable device was found
  std::string reason;         // why not, when !available
  int runtime_version = 0;    // e.g. 13000
  int driver_version = 0;     // 0 when no driver
  std::string architectures;  // the SASS/PTX targets compiled in, e.g. "90"
  std::vector<GpuInfo> devices;
};

// Queried once per process; later calls return the same answer.
const Availability& availability();

// Throws ERR_NO_GPU (with the reason) unless `device` names a usable GPU.
void require_device(int device);

// Memory comes from a caching allocator per device: freed blocks are kept for
// reuse, so steady-state training performs no cudaMalloc. Throws ERR_GPU_OOM.
void* alloc(int device, size_t bytes);
void free(int device, void* ptr, size_t bytes);
// Bytes currently handed out / held by the cache (for tests and info()).
size_t allocated_bytes(int device);
size_t cached_bytes(int device);

// Copies are ordered on the device's stream; to-host copies wait for them.
void copy_host_to_device(int device, void* dst, const void* src, size_t bytes);
void copy_device_to_host(int device, void* dst, const void* src, size_t bytes);
void copy_device_to_device(int device, void* dst, const void* src, size_t bytes);
void fill_zero(int device, void* ptr, size_t bytes);
// `count` elements of `element_bytes` (4 or 8), each set to the bytes at
// `element`, by a kernel on the stream (so a captured step may use it).
void fill_elements(int device, void* ptr, size_t count, const void* element, size_t element_bytes);
void synchronize(int device);

// At least `count` counters on `device`, zero, for kernels whose blocks count
// their arrivals (the last of a group finishes the group's work: split-K
// sums, per-channel totals) and leave them zero again. One array per device
// serves every kernel: all of a device's work runs in order on its stream.
// It grows (never while a graph is captured: that throws ERR_CUDA, and the
// step runs as launched) and is never freed, so a pointer handed out stays valid.
unsigned* arrival_counters(int device, size_t count);

// Throws the CUDA error raised by the last launch on `device`, if any, with `what`.
void check_launch(int device, const char* what);

// CUDA graphs (nn/step_graph.h). Between begin_capture and end_capture, the
// work this thread queues for `device` is recorded, not run: it goes to a
// stream of the capture's own, so that other threads' work on the device
// stays out of the graph, and allocations are allowed (the caller keeps what
// they return for as long as the graph lives). end_capture returns the
// executable graph, or null with the reason in `why` when the work could not
// be captured (a synchronisation or a copy from host memory inside it); the
// capture is over either way. replay() queues the whole graph on the
// device's stream, after the work already there.
class Graph;
void begin_capture(int device);
std::shared_ptr<Graph> end_capture(int device, std::string& why);
void replay(int device, const Graph& graph);

}  // namespace dmdlk::cuda
