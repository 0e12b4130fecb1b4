#include "core/dtype.h"

namespace dmdlk {

bool parse_dtype(const std::string& name, DType* out) {
  if (name == "float32") *out = DType::F32;
  else if (name == "float64") *out = DType::F64;
  else if (name == "uint8") *out = DType::U8;
  else if (name == "int32") *out = DType::I32;
  else return false;
  return true;
}

}  // namespace dmdlk
