// A file of this repository (test fixtures, test/op_cases.json) by its path
// from the repository root: under $DMDLK_SOURCE_DIR when set (a build carried
// to another machine, such as the lent GPU, where the checkout lies
// elsewhere), otherwise under the checkout the binary was built from.
#pragma once
#include <cstdlib>
#include <string>

namespace dmdlk::test {

inline std::string source_path(const std::string& relative) {
  const char* root = std::getenv("DMDLK_SOURCE_DIR");
  return std::string(root && *root ? root : DMDLK_SOURCE_DIR) + "/" + relative;
}

}  // namespace dmdlk::test
