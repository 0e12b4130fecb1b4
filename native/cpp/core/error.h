// Errors that cross every layer with a stable code. The addon turns them into
// JavaScript DmdlkError subclasses whose `code` is code_name(code).
#pragma once
#include <stdexcept>
#include <string>

namespace dmdlk {

enum class ErrorCode {
  InvalidArg,  // ERR_INVALID_ARG: a value out of range, an unknown option
  Shape,       // ERR_SHAPE: a rank or extent that does not fit the op
  DType,       // ERR_DTYPE: a dtype the op does not accept
  Device,      // ERR_DEVICE: operands on different devices, an unknown device
  IO,          // ERR_IO: a file that cannot be opened, read or written
  Format,      // ERR_FORMAT: a file whose contents break its format's rules
  Checkpoint,  // ERR_CHECKPOINT: a valid file that is not a checkpoint of this model
  GpuOom,      // ERR_GPU_OOM: the GPU ran out of memory
  HostOom,     // ERR_OOM: the host ran out of memory (std::bad_alloc)
  NoGpu,       // ERR_NO_GPU: CUDA asked for where there is none
  Cuda,        // ERR_CUDA: any other CUDA runtime failure
  Disposed,    // ERR_DISPOSED: a tensor used after dispose()
  Cancelled,   // ERR_CANCELLED: work stopped on request
  // ERR_NAN: a loss or gradient became NaN or infinite. The code's name is
  // the public one since the first release (scripts match on it); the enum
  // and the TypeScript class (NonFiniteError) say what it covers.
  NonFinite,
  Internal,  // ERR_INTERNAL: a bug of ours
};

const char* code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

// Throws Error(code, message) when `condition` is false. The message is built
// only on failure, so checks on hot paths cost a branch.
#define DMDLK_CHECK(condition, code, ...)                                         \
  do {                                                                            \
    if (!(condition)) throw ::dmdlk::Error((code), ::dmdlk::concat(__VA_ARGS__)); \
  } while (0)

}  // namespace dmdlk

#include "core/strings.h"
