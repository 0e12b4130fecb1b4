#include "core/device.h"

#include <cstdlib>

#include "core/error.h"

namespace dmdlk {

Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu();
  if (name == "cuda") return Device::cuda(0);
  if (name.rfind("cuda:", 0) == 0 && name.size() > 5 && name.size() < 9) {
    char* end = nullptr;
    long index = std::strtol(name.c_str() + 5, &end, 10);
    if (*end == '\0' && index >= 0) return Device::cuda(static_cast<int>(index));
  }
  throw Error(ErrorCode::Device, concat("device must be 'cpu', 'cuda' or 'cuda:N', got '", name, "'"));
}

}  // namespace dmdlk
