#include "core/error.h"

namespace dmdlk {

const char* code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArg: return "ERR_INVALID_ARG";
    case ErrorCode::Shape: return "ERR_SHAPE";
    case ErrorCode::DType: return "ERR_DTYPE";
    case ErrorCode::Device: return "ERR_DEVICE";
    case ErrorCode::IO: return "ERR_IO";
    case ErrorCode::Format: return "ERR_FORMAT";
    case ErrorCode::Checkpoint: return "ERR_CHECKPOINT";
    case ErrorCode::GpuOom: return "ERR_GPU_OOM";
    case ErrorCode::HostOom: return "ERR_OOM";
    case ErrorCode::NoGpu: return "ERR_NO_GPU";
    case ErrorCode::Cuda: return "ERR_CUDA";
    case ErrorCode::Disposed: return "ERR_DISPOSED";
    case ErrorCode::Cancelled: return "ERR_CANCELLED";
    case ErrorCode::NonFinite: return "ERR_NAN";
    case ErrorCode::Internal: return "ERR_INTERNAL";
  }
  return "ERR_INTERNAL";
}

}  // namespace dmdlk
