// platform.h on Linux and other POSIX systems.
#include <cstdlib>

#include "core/platform.h"

namespace dmdlk::platform {

void* aligned_allocate(size_t alignment, size_t bytes) { return std::aligned_alloc(alignment, bytes); }
void aligned_release(void* p) { std::free(p); }

void set_environment(const char* name, const char* value) {
  if (value) setenv(name, value, 1);
  else unsetenv(name);
}

}  // namespace dmdlk::platform
