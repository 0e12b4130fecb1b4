// DMDLK-Net's configuration (docs/architecture.md, "Configuration"): every field,
// its default, its validation, and its JSON form (the camelCase names of the
// TypeScript API and of a checkpoint's "config" metadata).
#pragma once
#include <array>
#include <cstdint>
#include <string>

namespace dmdlk {

enum class BlockKind { MBConv, MOAT };
enum class OffsetKind { Full, Light };

struct ModelConfig {
  int64_t in_channels = 3;
  int64_t num_classes = 2;
  int64_t input_size = 448;
  int64_t stem = 32;
  std::array<int64_t, 4> widths{32, 64, 128, 256};  // level 2, level 3, level 4, bottleneck
  std::array<int64_t, 4> depths{2, 3, 7, 2};
  std::array<BlockKind, 4> blocks{BlockKind::MBConv, BlockKind::MBConv, BlockKind::MOAT, BlockKind::MOAT};
  std::array<int64_t, 4> windows{14, 14, 0, 0};  // per stage where the block is MOAT; 0 = global
  int64_t head_dim = 32;
  int64_t expansion = 4;
  double se_ratio = 0.25;
  OffsetKind offsets = OffsetKind::Full;
  int64_t select_kernel = 1;

  // The side of stage i's feature map (stage 0 = level 2, at 1/4 of the input).
  int64_t stage_side(int stage) const { return input_size >> (stage + 2); }
  // The attention window of stage i's MOAT blocks (its whole map when global).
  int64_t stage_window(int stage) const {
    return windows[size_t(stage)] > 0 ? windows[size_t(stage)] : stage_side(stage);
  }
};

// Throws ERR_INVALID_ARG naming the first field that is out of range, with
// what it must be (for example an inputSize that is not a multiple of 32).
void validate(const ModelConfig& config);

// JSON with the camelCase field names; parsing fills fields present in the
// text, keeps defaults for the rest, rejects unknown fields, then validates.
std::string config_to_json(const ModelConfig& config);
ModelConfig config_from_json(const std::string& text);

}  // namespace dmdlk
