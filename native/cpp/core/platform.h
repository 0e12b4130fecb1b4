// What the operating system provides differently on Linux (and other POSIX
// systems) and on Windows: platform_posix.cpp or platform_windows.cpp, one of
// which is built (CMakeLists.txt picks by the target), beside the file
// system's io/atomic_file_posix.cpp and io/atomic_file_windows.cpp.
#pragma once
#include <cstddef>

namespace dmdlk::platform {

// Memory aligned to `alignment` (a power of two), or null; freed only by aligned_release.
void* aligned_allocate(size_t alignment, size_t bytes);
void aligned_release(void* p);

// Sets (value non-null) or removes an environment variable of this process.
void set_environment(const char* name, const char* value);

}  // namespace dmdlk::platform
