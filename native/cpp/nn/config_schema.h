// The model configuration's one declaration: every field of ModelConfig, its
// JSON name (the TypeScript API's and a checkpoint's "config" metadata), the
// rule its value keeps, a CLI flag that sets it, and its documentation.
// config.cpp parses, writes and checks fields by it (the rules between
// fields stay in validate()); the addon hands it to TypeScript
// (configSchema()), from which `node scripts/generate-schemas.cjs` writes the
// TypeScript type and field table (lib/config.generated.ts) and
// docs/configuration.md's table of fields; test/js/schemas.test.ts
// fails when those copies are not current.
#pragma once
#include <array>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "nn/config.h"
#include "ops/enum_names.h"

namespace dmdlk {

inline constexpr EnumName<BlockKind> kBlockNames[] = {{BlockKind::MBConv, "mbconv"}, {BlockKind::MOAT, "moat"}};
inline constexpr EnumName<OffsetKind> kOffsetNames[] = {{OffsetKind::Full, "full"}, {OffsetKind::Light, "light"}};

// Where the field lives in ModelConfig; its kind follows: an integer, a
// number or a choice of names, alone or one per stage.
using ConfigMember = std::variant<int64_t ModelConfig::*, double ModelConfig::*, OffsetKind ModelConfig::*,
                                  std::array<int64_t, 4> ModelConfig::*, std::array<BlockKind, 4> ModelConfig::*>;

struct ConfigField {
  const char* name;
  ConfigMember member;
  // Integers: in [min, max], a multiple of `multiple_of`, odd where `odd`.
  // Numbers: in (min, max]. Choices: their enum's names.
  double min, max;
  int64_t multiple_of;
  bool odd;
  const char* rule;     // the rule in words, as errors and the docs put it ("a multiple of 32 in [32, 4096]")
  const char* flag;     // the CLI flag that sets it, or "" ("--input-size")
  const char* summary;  // one sentence: the TypeScript type's comment
  const char* effect;   // what it changes in the network (docs/configuration.md; Markdown)
};

// In ModelConfig's order, the order of JSON, the docs and the TypeScript type.
const std::vector<ConfigField>& config_fields();

// The field's value in `c` as JSON, as config_to_json writes it (config.cpp).
std::string config_field_json(const ConfigField& f, const ModelConfig& c);

// The schema as JSON (the addon's configSchema()): each field's name, kind
// ("integer", "number" or "choice"), count (1, or 4 for one per stage),
// default, min, max, multipleOf, odd, choices, rule, flag, summary, effect.
std::string config_schema_json();

}  // namespace dmdlk
