// platform.h on Windows (MinGW-w64 and MSVC alike: the C runtime's aligned
// heap, which std::aligned_alloc is not on Windows).
#include <malloc.h>
#include <stdlib.h>

#include "core/platform.h"

namespace dmdlk::platform {

void* aligned_allocate(size_t alignment, size_t bytes) { return _aligned_malloc(bytes, alignment); }
void aligned_release(void* p) { _aligned_free(p); }

void set_environment(const char* name, const char* value) { _putenv_s(name, value ? value : ""); }

}  // namespace dmdlk::platform
