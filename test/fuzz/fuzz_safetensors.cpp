// libFuzzer target: the safetensors parser (and the JSON reader under it) on
// arbitrary bytes. A hostile file may only ever be a dmdlk::Error; anything
// else — a crash, a sanitizer report, another exception — is a finding.
#include <cstdint>
#include <cstdlib>

#include "io/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    dmdlk::SafetensorsContents c = dmdlk::parse_safetensors(data, size);
    for (const auto& [name, t] : c.tensors) {
      if (t.nbytes() > size) std::abort();  // a tensor larger than the file: the parser let a lie through
    }
  } catch (const dmdlk::Error&) {
  }
  return 0;
}
