// Whole-file writes that are atomic: the bytes go to a temporary file beside
// the target, are flushed to disk, and the temporary is renamed over the
// target (POSIX: then the folder is fsynced so the rename itself survives a
// power cut; Windows: MoveFileExW with WRITE_THROUGH). Readers see the old
// file or the new one, never a mixture. The platform's calls are in
// atomic_file_posix.cpp and atomic_file_windows.cpp, one of which is built.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dmdlk {

// Throws ERR_IO naming the path and the system's reason; the temporary file is
// removed on every failure.
void write_file_atomically(const std::string& path, const uint8_t* data, size_t size);

// Reads a whole file; ERR_IO naming the path and the reason on failure.
std::vector<uint8_t> read_file(const std::string& path);

}  // namespace dmdlk
