// safetensors files: u64 little-endian header length N, N bytes of JSON
// ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__":
// {string: string}}), then the tensor data. Reading enforces every rule of the
// reference implementation (bounded header, contiguous non-overlapping data
// that exactly fills the file, exact byte counts, unique names), so a hostile
// file is an ERR_FORMAT and never a crash or an oversized allocation.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"

namespace dmdlk {

using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

struct SafetensorsContents {
  NamedTensors tensors;  // in file order, on the CPU
  std::map<std::string, std::string> metadata;
};

constexpr uint64_t kMaxSafetensorsHeader = 100000000;

// Parses a whole file image. F32, F64, U8 and I32 load as they are; I64 (as
// PyTorch writes BatchNorm's num_batches_tracked) loads as I32 when every value
// fits, else ERR_FORMAT. Other dtypes are ERR_DTYPE naming the tensor.
SafetensorsContents parse_safetensors(const uint8_t* data, size_t size);
// Reads `path`: ERR_IO when it cannot be read, ERR_FORMAT when it is not valid.
SafetensorsContents read_safetensors(const std::string& path);

// The file image of `tensors` (moved to the CPU as needed) with `metadata`.
std::vector<uint8_t> serialize_safetensors(const NamedTensors& tensors,
                                           const std::map<std::string, std::string>& metadata);
// Writes atomically: a temporary file in the same folder, fsync, rename, fsync
// of the folder. A crash at any moment leaves either the old file or the new
// one, never a partial file. ERR_IO on failure, with the temporary removed.
void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata);

}  // namespace dmdlk
