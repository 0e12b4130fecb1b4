#include "nn/config_schema.h"

#include <type_traits>

#include "core/error.h"
#include "io/json.h"

namespace dmdlk {

const std::vector<ConfigField>& config_fields() {
  static const std::vector<ConfigField> fields{
      {"inChannels", &ModelConfig::in_channels, 1, 64, 1, false, "an integer in [1, 64]", "",
       "Channels of the input images (3: RGB).",
       "channels of the input images (RGB: 3); the stem's first convolution takes this many. `fit`, `evaluate` and "
       "`predict` read RGB images and need 3; a model of other channels trains and runs on tensors (`trainStep`, "
       "`forward`) and those calls say so (ERR_INVALID_ARG)"},
      {"numClasses", &ModelConfig::num_classes, 2, 16, 1, false, "an integer in [2, 16]", "",
       "Classes per pixel (2: background and lesion).",
       "classes per pixel; the head's output channels. Masks hold class indices `0 … numClasses−1` (background 0); "
       "the metrics count every class ≥ 1 as lesion, and `predict` returns each pixel's class"},
      {"inputSize", &ModelConfig::input_size, 32, 4096, 32, false, "a multiple of 32 in [32, 4096]", "--input-size",
       "Square side the images are resized to.",
       "the square side images are resized to, and the side of the logits. The bottleneck works at `inputSize/32`, "
       "so 32 is the unit. Global attention (window 0) attends over the whole map of its stage, so its "
       "relative-position table, and with it the parameter count, depends on `inputSize` (a checkpoint fits only "
       "the size it was made for); time grows faster than the pixels where attention is global"},
      {"stem", &ModelConfig::stem, 1, 4096, 1, false, "an integer in [1, 4096]", "",
       "Channels of the stem (level 1, at 1/2 of the input) and of decoder levels 1–2.",
       "channels of the stem's output E1 (level 1, at 1/2), and of decoder levels 1 and 2"},
      {"widths", &ModelConfig::widths, 1, 4096, 1, false, "an integer in [1, 4096]", "",
       "Channels of level 2, level 3, level 4 and the bottleneck.",
       "channels of `level2`, `level3`, `level4` and `bottleneck` (E2, E3, E4, Z); decoder level 4 outputs "
       "`widths[1]`, level 3 `widths[0]`. In a `moat` stage the width must be a multiple of `headDim`"},
      {"depths", &ModelConfig::depths, 1, 64, 1, false, "an integer in [1, 64]", "", "Blocks per stage.",
       "blocks per stage (the paper's 2/3/7 encoder stacks; the bottleneck's 2 is MOAT's fourth stage). Each block "
       "adds its parameters and time; depth never changes shapes"},
      {"blocks", &ModelConfig::blocks, 0, 0, 1, false, "'mbconv' or 'moat'", "", "Block kind per stage.",
       "the block kind of each stage. `mbconv`: convolutions only, with squeeze-excitation. `moat`: no "
       "squeeze-excitation, plus attention after the MBConv"},
      {"windows", &ModelConfig::windows, 0, 4096, 1, false, "0 (global) or a window side in [1, 4096]", "",
       "Attention window per stage where the block is 'moat': a divisor of the stage's side, or 0 = global.",
       "the attention window of each stage where the block is `moat` (ignored for `mbconv`): a `w×w` window attends "
       "within itself and must divide the stage's side; `0` attends over the whole map (global). Stage sides are "
       "`inputSize/4`, `/8`, `/16`, `/32`; at 448 they are 112, 56, 28, 14"},
      {"headDim", &ModelConfig::head_dim, 1, 256, 1, false, "an integer in [1, 256]", "",
       "Channels per attention head; moat widths must be multiples of it.",
       "channels per attention head: a `moat` stage of width `C` has `C / headDim` heads"},
      {"expansion", &ModelConfig::expansion, 1, 16, 1, false, "an integer in [1, 16]", "",
       "MBConv's inner width as a multiple of its output channels.",
       "MBConv's inner width, `expansion × output channels`: the widths of the expanded 1×1 and depthwise "
       "convolutions, most of the encoder's parameters and time"},
      {"seRatio", &ModelConfig::se_ratio, 0, 1, 1, false, "a number in (0, 1]", "",
       "Squeeze-excitation width as a share of the output channels.",
       "squeeze-excitation's bottleneck width in MBConv stages, `max(1, ⌊seRatio × output channels⌋)`"},
      {"offsets", &ModelConfig::offsets, 0, 0, 1, false, "'full' or 'light'", "",
       "DDLK's offset predictor: 'full' (dense k×k convolution, the paper's) or 'light' (depthwise then 1×1).",
       "how DDLK predicts its sampling offsets. `full`: a dense `k×k` convolution from all channels to the `2k²` "
       "offsets (the paper's; 72% of the default network's multiply-accumulates). `light`: a depthwise `k×k` then "
       "a 1×1 convolution: 3.9 M parameters and 5.8 GMAC per 448² image instead of 5.4 M and 19.3"},
      {"selectKernel", &ModelConfig::select_kernel, 1, 15, 1, true, "an odd integer in [1, 15]", "",
       "DDLK's selection convolution kernel (the paper's: 1).",
       "the kernel of DDLK's selection convolution, which turns the channel mean and max of both deformable "
       "outputs into their two per-pixel weights (the paper: 1×1; D-Net's code: 7×7)"},
  };
  return fields;
}

namespace {

// kind, count and choices of a field, from its member.
struct Shape {
  const char* kind;
  int count;
  std::string choices = "[]";
};
Shape shape_of(const ConfigField& f) {
  return std::visit(
      [&](auto member) -> Shape {
        using V = std::decay_t<decltype(ModelConfig().*member)>;
        if constexpr (std::is_same_v<V, int64_t>) return {"integer", 1};
        else if constexpr (std::is_same_v<V, double>) return {"number", 1};
        else if constexpr (std::is_same_v<V, OffsetKind>) return {"choice", 1, enum_names_json(kOffsetNames)};
        else if constexpr (std::is_same_v<V, std::array<int64_t, 4>>) return {"integer", 4};
        else return {"choice", 4, enum_names_json(kBlockNames)};
      },
      f.member);
}

}  // namespace

std::string config_schema_json() {
  const ModelConfig defaults;
  std::string out;
  for (const ConfigField& f : config_fields()) {
    Shape s = shape_of(f);
    out += concat(out.empty() ? "" : ",", "{\"name\":", json::quote(f.name), ",\"kind\":\"", s.kind,
                  "\",\"count\":", s.count, ",\"default\":", config_field_json(f, defaults),
                  ",\"min\":", json::number(f.min), ",\"max\":", json::number(f.max), ",\"multipleOf\":", f.multiple_of,
                  ",\"odd\":", f.odd ? "true" : "false", ",\"choices\":", s.choices, ",\"rule\":", json::quote(f.rule),
                  ",\"flag\":", json::quote(f.flag), ",\"summary\":", json::quote(f.summary),
                  ",\"effect\":", json::quote(f.effect), "}");
  }
  return "[" + out + "]";
}

}  // namespace dmdlk
