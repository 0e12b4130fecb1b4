// Many flat tensors handed to one kernel launch (Adam over every parameter,
// the non-finite count over every gradient): instead of a launch per tensor,
// a launch per up to kTensorListCapacity tensors, whose blocks each take one
// chunk of one tensor. Host and device alike: test_core checks on the CPU
// that a list's blocks cover every element of every tensor exactly once.
#pragma once
#include <cstdint>
#include <vector>

#include "core/host_device.h"

namespace dmdlk {

// At 128 tensors of four arrays a list is 6.2 KB: it travels as a kernel
// argument (32,764 bytes at most, with the kernel's other arguments, from
// CUDA 12.1 on Volta and newer: every GPU we build for; tensor_lists
// checks), with no copy to the GPU. Larger lists would take fewer launches
// (the network has ~330 parameters: 3 lists), but each list kernel's
// parameter bank is stored in the binary at its full size: at 512 tensors
// the GPU code grew by 78 KB.
constexpr int kTensorListCapacity = 128;

// Block b's part of the list: tensor `tensor`, elements [begin, end).
struct ListChunk {
  int tensor;
  int64_t begin, end;
};

// `Arrays` arrays per tensor (Adam: parameters, gradients, m, v), all of
// `size[t]` elements; block b of the launch takes chunk b of the list.
template <typename T, int Arrays>
struct TensorList {
  T* data[Arrays][kTensorListCapacity];
  int64_t size[kTensorListCapacity];
  int64_t first_block[kTensorListCapacity + 1];  // tensor t's chunks are blocks [first_block[t], first_block[t + 1])
  int count;
  int64_t chunk;  // elements per block
  // Bit t: tensor t takes its kernel's other path (copy_bytes_all: added, not copied).
  uint64_t flags[kTensorListCapacity / 64] = {};

  DMDLK_HD bool flagged(int t) const { return flags[t / 64] >> (t % 64) & 1u; }

  int64_t blocks() const { return first_block[count]; }
  DMDLK_HD ListChunk locate(int64_t block) const {
    int lo = 0, hi = count - 1;  // the last tensor whose first block is <= block
    while (lo < hi) {
      int mid = (lo + hi + 1) / 2;
      if (first_block[mid] <= block) lo = mid;
      else hi = mid - 1;
    }
    int64_t begin = (block - first_block[lo]) * chunk;
    return {lo, begin, begin + chunk < size[lo] ? begin + chunk : size[lo]};
  }
};

// How tensors of `sizes` elements fall into lists (empty tensors left out):
// up to kTensorListCapacity each, in order, each list's chunk the largest
// multiple of `step` up to `chunk` that still gives it `min_blocks` blocks
// (a list of a few small tensors fills the GPU with small chunks).
struct ListLayout {
  std::vector<size_t> tensors;  // indices into sizes
  int64_t chunk = 0, blocks = 0, elements = 0;
};
inline std::vector<ListLayout> list_layouts(const std::vector<int64_t>& sizes, int64_t chunk, int64_t step,
                                            int64_t min_blocks) {
  std::vector<ListLayout> layouts;
  for (size_t t = 0; t < sizes.size(); ++t) {
    if (sizes[t] == 0) continue;
    if (layouts.empty() || layouts.back().tensors.size() == size_t(kTensorListCapacity)) layouts.emplace_back();
    layouts.back().tensors.push_back(t);
    layouts.back().elements += sizes[t];
  }
  for (ListLayout& l : layouts) {
    int64_t even = (l.elements / min_blocks) / step * step;  // chunks that would make min_blocks blocks
    l.chunk = even < step ? step : even < chunk ? even : chunk;
    for (size_t t : l.tensors) l.blocks += (sizes[t] + l.chunk - 1) / l.chunk;
  }
  return layouts;
}

// The lists themselves: `arrays[t]` holds tensor t's Arrays pointers;
// `flagged[t]`, where given, sets its bit of the list's flags.
template <typename T, int Arrays>
std::vector<TensorList<T, Arrays>> tensor_lists(const std::vector<std::vector<T*>>& arrays,
                                                const std::vector<int64_t>& sizes, int64_t chunk, int64_t step,
                                                int64_t min_blocks, const std::vector<bool>& flagged = {}) {
  static_assert(sizeof(TensorList<T, Arrays>) + 256 <= 32764,
                "a list and its kernel's other arguments fit in CUDA's 32,764 bytes of parameters");
  std::vector<TensorList<T, Arrays>> lists;
  for (const ListLayout& layout : list_layouts(sizes, chunk, step, min_blocks)) {
    TensorList<T, Arrays>& l = lists.emplace_back();
    l.count = 0, l.chunk = layout.chunk, l.first_block[0] = 0;
    for (size_t t : layout.tensors) {
      for (int a = 0; a < Arrays; ++a) l.data[a][l.count] = arrays[t][size_t(a)];
      l.size[l.count] = sizes[t];
      if (t < flagged.size() && flagged[t]) l.flags[l.count / 64] |= uint64_t(1) << (l.count % 64);
      l.first_block[l.count + 1] = l.first_block[l.count] + (sizes[t] + l.chunk - 1) / l.chunk;
      ++l.count;
    }
  }
  return lists;
}

}  // namespace dmdlk
