#include "nn/config.h"

#include <cmath>

#include "core/error.h"
#include "io/json.h"

namespace dmdlk {

namespace {

const char* block_name(BlockKind b) { return b == BlockKind::MBConv ? "mbconv" : "moat"; }

[[noreturn]] void invalid(const std::string& field, const std::string& rule, const std::string& got) {
  throw Error(ErrorCode::InvalidArg, concat("config.", field, " must be ", rule, ", got ", got));
}

void positive(const char* field, int64_t v, int64_t max) {
  if (v < 1 || v > max) invalid(field, concat("an integer in [1, ", max, "]"), std::to_string(v));
}

}  // namespace

void validate(const ModelConfig& c) {
  positive("inChannels", c.in_channels, 64);
  if (c.num_classes < 2 || c.num_classes > 16)
    invalid("numClasses", "an integer in [2, 16]", std::to_string(c.num_classes));
  if (c.input_size < 32 || c.input_size > 4096 || c.input_size % 32 != 0)
    invalid("inputSize", "a multiple of 32 in [32, 4096]", std::to_string(c.input_size));
  positive("stem", c.stem, 4096);
  positive("headDim", c.head_dim, 256);
  positive("expansion", c.expansion, 16);
  if (!(c.se_ratio > 0 && c.se_ratio <= 1)) invalid("seRatio", "in (0, 1]", concat(c.se_ratio));
  if (c.select_kernel < 1 || c.select_kernel > 15 || c.select_kernel % 2 == 0)
    invalid("selectKernel", "an odd integer in [1, 15]", std::to_string(c.select_kernel));
  for (int i = 0; i < 4; ++i) {
    std::string at = concat("[", i, "]");
    positive(("widths" + at).c_str(), c.widths[size_t(i)], 4096);
    positive(("depths" + at).c_str(), c.depths[size_t(i)], 64);
    int64_t w = c.windows[size_t(i)], side = c.stage_side(i);
    if (w < 0) invalid("windows" + at, "0 (global) or a positive window side", std::to_string(w));
    if (c.blocks[size_t(i)] != BlockKind::MOAT) continue;
    if (c.widths[size_t(i)] % c.head_dim != 0)
      invalid("widths" + at, concat("a multiple of headDim (", c.head_dim, ") in a moat stage"),
              std::to_string(c.widths[size_t(i)]));
    if (w > 0 && side % w != 0)
      invalid("windows" + at, concat("a divisor of that stage's side, inputSize / ", int64_t(4) << i, " = ", side),
              std::to_string(w));
  }
}

std::string config_to_json(const ModelConfig& c) {
  auto list = [](const auto& values, auto item) {
    std::string s = "[";
    for (size_t i = 0; i < values.size(); ++i) s += (i ? "," : "") + item(values[i]);
    return s + "]";
  };
  auto number = [](int64_t v) { return std::to_string(v); };
  auto block = [](BlockKind b) { return json::quote(block_name(b)); };
  char ratio[32];
  std::snprintf(ratio, sizeof ratio, "%.17g", c.se_ratio);
  return concat("{\"inChannels\":", c.in_channels, ",\"numClasses\":", c.num_classes, ",\"inputSize\":", c.input_size,
                ",\"stem\":", c.stem, ",\"widths\":", list(c.widths, number), ",\"depths\":", list(c.depths, number),
                ",\"blocks\":", list(c.blocks, block), ",\"windows\":", list(c.windows, number),
                ",\"headDim\":", c.head_dim, ",\"expansion\":", c.expansion, ",\"seRatio\":", ratio,
                ",\"offsets\":", json::quote(c.offsets == OffsetKind::Full ? "full" : "light"),
                ",\"selectKernel\":", c.select_kernel, "}");
}

namespace {

int64_t integer(const json::Value& v, const std::string& field) {
  if (!v.is_integer()) invalid(field, "an integer", v.kind == json::Value::Kind::Number ? v.text : "a non-number");
  return std::stoll(v.text.size() > 18 ? "9999999999" : v.text);
}

std::array<int64_t, 4> four_integers(const json::Value& v, const std::string& field) {
  if (v.kind != json::Value::Kind::Array || v.items.size() != 4)
    invalid(field, "an array of 4 integers", "something else");
  std::array<int64_t, 4> out{};
  for (size_t i = 0; i < 4; ++i) out[i] = integer(v.items[i], concat(field, "[", i, "]"));
  return out;
}

}  // namespace

ModelConfig config_from_json(const std::string& text) {
  json::Value root = json::parse(text.data(), text.size());
  if (root.kind != json::Value::Kind::Object) throw Error(ErrorCode::InvalidArg, "config must be a JSON object");
  ModelConfig c;
  for (const auto& [key, v] : root.members) {
    if (key == "inChannels") c.in_channels = integer(v, key);
    else if (key == "numClasses") c.num_classes = integer(v, key);
    else if (key == "inputSize") c.input_size = integer(v, key);
    else if (key == "stem") c.stem = integer(v, key);
    else if (key == "widths") c.widths = four_integers(v, key);
    else if (key == "depths") c.depths = four_integers(v, key);
    else if (key == "windows") c.windows = four_integers(v, key);
    else if (key == "headDim") c.head_dim = integer(v, key);
    else if (key == "expansion") c.expansion = integer(v, key);
    else if (key == "selectKernel") c.select_kernel = integer(v, key);
    else if (key == "seRatio") {
      if (v.kind != json::Value::Kind::Number) invalid(key, "a number", "a non-number");
      c.se_ratio = std::stod(v.text);
    } else if (key == "offsets") {
      if (v.kind != json::Value::Kind::String || (v.text != "full" && v.text != "light"))
        invalid(key, "'full' or 'light'", v.kind == json::Value::Kind::String ? "'" + v.text + "'" : "a non-string");
      c.offsets = v.text == "full" ? OffsetKind::Full : OffsetKind::Light;
    } else if (key == "blocks") {
      if (v.kind != json::Value::Kind::Array || v.items.size() != 4)
        invalid(key, "an array of 4 block kinds", "something else");
      for (size_t i = 0; i < 4; ++i) {
        const json::Value& b = v.items[i];
        if (b.kind != json::Value::Kind::String || (b.text != "mbconv" && b.text != "moat"))
          invalid(concat(key, "[", i, "]"), "'mbconv' or 'moat'",
                  b.kind == json::Value::Kind::String ? "'" + b.text + "'" : "a non-string");
        c.blocks[i] = b.text == "mbconv" ? BlockKind::MBConv : BlockKind::MOAT;
      }
    } else {
      throw Error(ErrorCode::InvalidArg, concat("config has an unknown field '", key, "'"));
    }
  }
  validate(c);
  return c;
}

}  // namespace dmdlk
