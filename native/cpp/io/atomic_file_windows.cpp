// atomic_file.h on Windows: the temporary file is written, flushed to disk
// (FlushFileBuffers) and moved over the target with MoveFileExW's
// REPLACE_EXISTING | WRITE_THROUGH, which returns once the move is on disk.
// Paths are UTF-8, as everywhere in the library, and go to the wide API.
#include <windows.h>

#include <algorithm>
#include <atomic>

#include "core/error.h"
#include "io/atomic_file.h"

namespace dmdlk {

namespace {

std::wstring wide(const std::string& utf8) {
  if (utf8.empty()) return std::wstring();
  int n = MultiByteToWideChar(CP_UTF8, 0, utf8.data(), int(utf8.size()), nullptr, 0);
  std::wstring out(size_t(n), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, utf8.data(), int(utf8.size()), out.data(), n);
  return out;
}

// The system's reason; a missing file or folder in POSIX's words, so that a
// message (and what matches it) reads the same on every platform.
std::string reason(DWORD code) {
  if (code == ERROR_FILE_NOT_FOUND || code == ERROR_PATH_NOT_FOUND) return "No such file or directory";
  char* text = nullptr;
  DWORD n = FormatMessageA(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM | FORMAT_MESSAGE_IGNORE_INSERTS,
                           nullptr, code, 0, reinterpret_cast<char*>(&text), 0, nullptr);
  std::string out = n ? std::string(text, n) : concat("error ", code);
  if (text) LocalFree(text);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r' || out.back() == '.')) out.pop_back();
  return out;
}

[[noreturn]] void io_error(const std::string& what, const std::string& path, DWORD code) {
  throw Error(ErrorCode::IO, concat(what, " '", path, "': ", reason(code)));
}

bool is_folder(const std::wstring& path) {
  DWORD attributes = GetFileAttributesW(path.c_str());
  return attributes != INVALID_FILE_ATTRIBUTES && (attributes & FILE_ATTRIBUTE_DIRECTORY);
}

}  // namespace

void write_file_atomically(const std::string& path, const uint8_t* data, size_t size) {
  static std::atomic<unsigned> counter{0};
  std::string temp = concat(path, ".tmp-", GetCurrentProcessId(), "-", counter.fetch_add(1));
  const std::wstring wtemp = wide(temp), wpath = wide(path);
  HANDLE file = CreateFileW(wtemp.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_NEW, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) io_error("cannot create", temp, GetLastError());
  auto fail = [&](const char* what) {
    DWORD code = GetLastError();
    CloseHandle(file);
    DeleteFileW(wtemp.c_str());
    io_error(what, path, code);
  };
  size_t written = 0;
  while (written < size) {
    DWORD chunk = DWORD(std::min<size_t>(size - written, 1u << 30)), n = 0;
    if (!WriteFile(file, data + written, chunk, &n, nullptr) || n == 0) fail("cannot write");
    written += n;
  }
  if (!FlushFileBuffers(file)) fail("cannot flush");
  if (!CloseHandle(file)) {
    DWORD code = GetLastError();
    DeleteFileW(wtemp.c_str());
    io_error("cannot close", path, code);
  }
  if (!MoveFileExW(wtemp.c_str(), wpath.c_str(), MOVEFILE_REPLACE_EXISTING | MOVEFILE_WRITE_THROUGH)) {
    DWORD code = GetLastError();
    DeleteFileW(wtemp.c_str());
    io_error("cannot replace", path, code);
  }
}

std::vector<uint8_t> read_file(const std::string& path) {
  const std::wstring wpath = wide(path);
  if (is_folder(wpath)) throw Error(ErrorCode::IO, concat("'", path, "' is not a regular file"));
  HANDLE file = CreateFileW(wpath.c_str(), GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE,
                            nullptr, OPEN_EXISTING, FILE_ATTRIBUTE_NORMAL, nullptr);
  if (file == INVALID_HANDLE_VALUE) io_error("cannot open", path, GetLastError());
  LARGE_INTEGER size{};
  if (!GetFileSizeEx(file, &size)) {
    DWORD code = GetLastError();
    CloseHandle(file);
    io_error("cannot stat", path, code);
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(size.QuadPart));
  size_t done = 0;
  while (done < bytes.size()) {
    DWORD chunk = DWORD(std::min<size_t>(bytes.size() - done, 1u << 30)), n = 0;
    if (!ReadFile(file, bytes.data() + done, chunk, &n, nullptr)) {
      DWORD code = GetLastError();
      CloseHandle(file);
      io_error("cannot read", path, code);
    }
    if (n == 0) break;  // the file shrank while we read it
    done += n;
  }
  CloseHandle(file);
  bytes.resize(done);
  return bytes;
}

}  // namespace dmdlk
