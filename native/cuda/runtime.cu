// CUDA discovery, the caching allocator and the per-device stream.
//
// Nothing here lives in a static object with a destructor: the CUDA runtime
// tears itself down at exit before static destructors run, and a cudaFree
// from one of them crashes the process (seen in other Node addons). The
// caches and streams are deliberately leaked; the driver reclaims them.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <vector>

#include "core/cuda_runtime.h"
#include "cuda_check.cuh"

namespace dmdlk::cuda {

namespace {

constexpr int kMaxDevices = 16;

const char* compiled_architectures() {
#ifdef DMDLK_CUDA_ARCHS_STRING
  return DMDLK_CUDA_ARCHS_STRING;
#else
  return "";
#endif
}

// Freed blocks by rounded size, reused before asking the driver again.
struct DeviceCache {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;
  size_t allocated = 0;  // bytes handed out
  size_t cached = 0;     // bytes held in free_blocks
  cudaStream_t stream = nullptr;
  unsigned* arrivals = nullptr;  // arrival_counters
  size_t arrival_count = 0;
};

DeviceCache& cache(int device) {
  static DeviceCache* caches = new DeviceCache[kMaxDevices];
  return caches[device];
}

// Small blocks round to 512 bytes, large ones to 2 MiB, so that
// slightly different sizes share cached blocks.
size_t round_size(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t(2) << 20;
  if (bytes == 0) return kSmall;
  size_t unit = bytes < kLarge ? kSmall : kLarge;
  return (bytes + unit - 1) / unit * unit;
}

// Gives every cached block back to the driver (the caller holds c.mutex).
void release_cache(DeviceCache& c) {
  for (auto& block : c.free_blocks) cudaFree(block.second);
  c.free_blocks.clear();
  c.cached = 0;
}

// The capture this thread has open, if any (begin_capture): its work goes to
// the capture's stream instead of the device's.
thread_local int capture_device = -1;
thread_local cudaStream_t capture_stream = nullptr;

}  // namespace

const Availability& availability() {
  static const Availability answer = [] {
    Availability a;
    a.compiled = true;
    a.architectures = compiled_architectures();
    cudaRuntimeGetVersion(&a.runtime_version);
    cudaDriverGetVersion(&a.driver_version);
    int count = 0;
    cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
      cudaGetLastError();
      a.reason =
          status == cudaErrorInsufficientDriver || status == cudaErrorNoDevice
              ? concat("no usable NVIDIA driver or GPU (", cudaGetErrorName(status), ": ", cudaGetErrorString(status),
                       "); CUDA 13 needs driver >= 580")
              : concat("CUDA initialisation failed (", cudaGetErrorName(status), ": ", cudaGetErrorString(status), ")");
      return a;
    }
    if (count == 0) {
      a.reason = "no CUDA device found";
      return a;
    }
    for (int i = 0; i < count && i < kMaxDevices; ++i) {
      cudaDeviceProp prop{};
      if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
      a.devices.push_back({i, prop.name, prop.major, prop.minor, prop.totalGlobalMem, prop.multiProcessorCount});
    }
    a.available = !a.devices.empty();
    if (!a.available) a.reason = "no CUDA device could be queried";
    return a;
  }();
  return answer;
}

void require_device(int device) {
  const Availability& a = availability();
  DMDLK_CHECK(a.available, ErrorCode::NoGpu, "CUDA is unavailable: ", a.reason);
  DMDLK_CHECK(device >= 0 && device < static_cast<int>(a.devices.size()), ErrorCode::Device, "cuda:", device,
              " does not exist; this machine has ", a.devices.size(), " GPU(s)");
}

DeviceGuard::DeviceGuard(int device) {
  require_device(device);
  DMDLK_CUDA_CALL(cudaGetDevice(&previous_));
  if (previous_ != device) DMDLK_CUDA_CALL(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  int current = -1;
  // A destructor must not throw: a failure to restore leaves the device as it is.
  if (cudaGetDevice(&current) == cudaSuccess && current != previous_ && previous_ >= 0) cudaSetDevice(previous_);
}

cudaStream_t stream(int device) {
  if (device == capture_device) return capture_stream;
  DeviceCache& c = cache(device);
  std::lock_guard<std::mutex> lock(c.mutex);
  if (!c.stream) {
    DeviceGuard guard(device);
    DMDLK_CUDA_CALL(cudaStreamCreateWithFlags(&c.stream, cudaStreamNonBlocking));
  }
  return c.stream;
}

// DMDLK_CUDA_MEMORY_LIMIT (bytes; 0 or unset: none) caps what the allocator
// holds per device, to try out-of-memory handling on a GPU of any size.
size_t memory_limit() {
  static const size_t limit = [] {
    const char* v = std::getenv("DMDLK_CUDA_MEMORY_LIMIT");
    return v ? size_t(std::strtoull(v, nullptr, 10)) : size_t(0);
  }();
  return limit;
}

void* alloc(int device, size_t bytes) {
  DeviceGuard guard(device);
  DeviceCache& c = cache(device);
  size_t size = round_size(bytes);
  if (size_t limit = memory_limit()) {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.allocated + size > limit && device != capture_device) release_cache(c);  // cudaFree would break a capture
    DMDLK_CHECK(c.allocated + size <= limit, ErrorCode::GpuOom, "cannot allocate ", bytes, " bytes on cuda:", device,
                ": ", c.allocated, " bytes in use and DMDLK_CUDA_MEMORY_LIMIT is ", limit);
  }
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.free_blocks.find(size);
    if (it != c.free_blocks.end()) {
      void* ptr = it->second;
      c.free_blocks.erase(it);
      c.cached -= size;
      c.allocated += size;
      return ptr;
    }
  }
  void* ptr = nullptr;
  cudaError_t status = cudaMalloc(&ptr, size);
  if (status == cudaErrorMemoryAllocation && device != capture_device) {
    // Give the cache back to the driver and try once more before failing
    // (not while capturing: cudaFree synchronises; the capture fails instead).
    cudaGetLastError();
    std::lock_guard<std::mutex> lock(c.mutex);
    release_cache(c);
    status = cudaMalloc(&ptr, size);
  }
  if (status != cudaSuccess) {
    cudaGetLastError();
    throw Error(status == cudaErrorMemoryAllocation ? ErrorCode::GpuOom : ErrorCode::Cuda,
                concat("cannot allocate ", bytes, " bytes on cuda:", device, ": ", cudaGetErrorString(status)));
  }
  std::lock_guard<std::mutex> lock(c.mutex);
  c.allocated += size;
  return ptr;
}

void free(int device, void* ptr, size_t bytes) {
  if (!ptr) return;
  // Work queued on the stream may still read this block; blocks are reused
  // only by later work on the same stream, which runs after it.
  DeviceCache& c = cache(device);
  size_t size = round_size(bytes);
  std::lock_guard<std::mutex> lock(c.mutex);
  c.free_blocks.emplace(size, ptr);
  c.allocated -= size;
  c.cached += size;
}

size_t allocated_bytes(int device) {
  std::lock_guard<std::mutex> lock(cache(device).mutex);
  return cache(device).allocated;
}

size_t cached_bytes(int device) {
  std::lock_guard<std::mutex> lock(cache(device).mutex);
  return cache(device).cached;
}

void copy_host_to_device(int device, void* dst, const void* src, size_t bytes) {
  DeviceGuard guard(device);
  cudaStream_t s = stream(device);
  DMDLK_CUDA_CALL(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
  // The host buffer may be a JavaScript array that is freed once we return.
  DMDLK_CUDA_CALL(cudaStreamSynchronize(s));
}

void copy_device_to_host(int device, void* dst, const void* src, size_t bytes) {
  DeviceGuard guard(device);
  cudaStream_t s = stream(device);
  DMDLK_CUDA_CALL(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
  DMDLK_CUDA_CALL(cudaStreamSynchronize(s));
}

void copy_device_to_device(int device, void* dst, const void* src, size_t bytes) {
  DeviceGuard guard(device);
  DMDLK_CUDA_CALL(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, stream(device)));
}

void fill_zero(int device, void* ptr, size_t bytes) {
  DeviceGuard guard(device);
  DMDLK_CUDA_CALL(cudaMemsetAsync(ptr, 0, bytes, stream(device)));
}

unsigned* arrival_counters(int device, size_t count) {
  DeviceCache& c = cache(device);
  size_t grown = 0;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.arrival_count >= count) return c.arrivals;
    grown = std::max({count, 2 * c.arrival_count, size_t(1) << 16});
  }
  // A CUDA error: a call the capture does not allow, so the step runs as
  // launched instead (nn/step_graph.h), and that grows them.
  DMDLK_CHECK(device != capture_device, ErrorCode::Cuda, "arrival counters (", count,
              ") cannot grow while a CUDA graph is captured");
  // From the caching allocator (its memory limit and out-of-memory handling),
  // never given back, and zeroed on the stream before any kernel is handed
  // them. An older array stays: kernels already queued may use it, and
  // leave it zero.
  DeviceGuard guard(device);
  auto* fresh = static_cast<unsigned*>(alloc(device, grown * sizeof(unsigned)));
  DMDLK_CUDA_CALL(cudaMemsetAsync(fresh, 0, grown * sizeof(unsigned), stream(device)));
  std::lock_guard<std::mutex> lock(c.mutex);
  if (c.arrival_count >= grown) {  // another thread grew them meanwhile
    cuda::free(device, fresh, grown * sizeof(unsigned));
    return c.arrivals;
  }
  c.arrivals = fresh, c.arrival_count = grown;
  return fresh;
}

namespace {
template <typename Word>
__global__ void fill_kernel(Word* out, size_t count, Word value) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < count; i += size_t(gridDim.x) * blockDim.x)
    out[i] = value;
}
}  // namespace

void fill_elements(int device, void* ptr, size_t count, const void* element, size_t element_bytes) {
  DMDLK_CHECK(element_bytes == 4 || element_bytes == 8, ErrorCode::Internal, "fill_elements: ", element_bytes,
              "-byte elements");
  DeviceGuard guard(device);
  unsigned blocks = unsigned(std::min<size_t>((count + 255) / 256, 65535));
  if (element_bytes == 4) {
    uint32_t word;
    std::memcpy(&word, element, 4);
    fill_kernel<<<blocks, 256, 0, stream(device)>>>(static_cast<uint32_t*>(ptr), count, word);
  } else {
    uint64_t word;
    std::memcpy(&word, element, 8);
    fill_kernel<<<blocks, 256, 0, stream(device)>>>(static_cast<uint64_t*>(ptr), count, word);
  }
  check_launch(device, "fill_elements");
}

void synchronize(int device) {
  DeviceGuard guard(device);
  DMDLK_CUDA_CALL(cudaStreamSynchronize(stream(device)));
}

void check_launch(int device, const char* what) {
  (void)device;
  cudaError_t status = cudaGetLastError();
  if (status != cudaSuccess) throw_cuda_error(status, what);
}

class Graph {
 public:
  Graph(int device, cudaGraphExec_t exec) : device_(device), exec_(exec) {}
  ~Graph() {
    // Never throws: a graph dropped after a failure just goes.
    int current = -1;
    if (cudaGetDevice(&current) == cudaSuccess && current != device_) cudaSetDevice(device_);
    cudaGraphExecDestroy(exec_);
    if (current >= 0 && current != device_) cudaSetDevice(current);
  }
  Graph(const Graph&) = delete;
  Graph& operator=(const Graph&) = delete;
  cudaGraphExec_t exec() const { return exec_; }

 private:
  int device_;
  cudaGraphExec_t exec_;
};

void begin_capture(int device) {
  DMDLK_CHECK(capture_device < 0, ErrorCode::Internal, "a CUDA graph capture is already open on this thread");
  DeviceGuard guard(device);
  cudaStream_t s = nullptr;
  DMDLK_CUDA_CALL(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking));
  // Relaxed: the allocator may call cudaMalloc while the step is captured.
  cudaError_t status = cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed);
  if (status != cudaSuccess) {
    cudaStreamDestroy(s);
    cudaGetLastError();
    throw_cuda_error(status, "cudaStreamBeginCapture");
  }
  capture_device = device, capture_stream = s;
}

std::shared_ptr<Graph> end_capture(int device, std::string& why) {
  // Never throws: it runs while a failed capture's error is being handled.
  if (capture_device != device) {
    why = "no CUDA graph capture is open";
    return nullptr;
  }
  cudaStream_t s = capture_stream;
  capture_device = -1, capture_stream = nullptr;
  int previous = -1;
  cudaGetDevice(&previous);
  if (previous != device) cudaSetDevice(device);
  cudaGraph_t graph = nullptr;
  cudaError_t status = cudaStreamEndCapture(s, &graph);
  cudaStreamDestroy(s);
  cudaGraphExec_t exec = nullptr;
  if (status == cudaSuccess && graph) status = cudaGraphInstantiate(&exec, graph, 0);
  if (graph) cudaGraphDestroy(graph);
  if (previous >= 0 && previous != device) cudaSetDevice(previous);
  if (status != cudaSuccess || !exec) {
    cudaGetLastError();
    why = concat(cudaGetErrorName(status), " (", cudaGetErrorString(status), ")");
    return nullptr;
  }
  return std::make_shared<Graph>(device, exec);
}

void replay(int device, const Graph& graph) {
  DeviceGuard guard(device);
  DMDLK_CUDA_CALL(cudaGraphLaunch(graph.exec(), stream(device)));
}

}  // namespace dmdlk::cuda
