// The CUDA services of a build without CUDA: nothing is available, and every
// request names why.
#include "core/cuda_runtime.h"
#include "core/error.h"

namespace dmdlk::cuda {

const Availability& availability() {
  static const Availability answer = [] {
    Availability a;
    a.reason = "this binary was built without CUDA (DMDLK_CUDA=off or no nvcc at build time)";
    return a;
  }();
  return answer;
}

[[noreturn]] static void no_gpu() { throw Error(ErrorCode::NoGpu, "CUDA is unavailable: " + availability().reason); }

void require_device(int) { no_gpu(); }
void* alloc(int, size_t) { no_gpu(); }
void free(int, void*, size_t) {}
size_t allocated_bytes(int) { return 0; }
size_t cached_bytes(int) { return 0; }
void copy_host_to_device(int, void*, const void*, size_t) { no_gpu(); }
void copy_device_to_host(int, void*, const void*, size_t) { no_gpu(); }
void copy_device_to_device(int, void*, const void*, size_t) { no_gpu(); }
void fill_zero(int, void*, size_t) { no_gpu(); }
void fill_elements(int, void*, size_t, const void*, size_t) { no_gpu(); }
void synchronize(int) { no_gpu(); }
void check_launch(int, const char*) { no_gpu(); }
class Graph {};
void begin_capture(int) { no_gpu(); }
std::shared_ptr<Graph> end_capture(int, std::string&) { no_gpu(); }
void replay(int, const Graph&) { no_gpu(); }

}  // namespace dmdlk::cuda
