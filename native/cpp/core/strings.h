// Message building for errors: concat("expected ", shape_str(s), ", got ", n).
#pragma once
#include <cstdint>
#include <sstream>
#include <string>
#include <vector>

namespace dmdlk {

template <typename... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

inline std::string shape_str(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

}  // namespace dmdlk
