#include "core/matmul_precision.h"

#include <atomic>
#include <cstdlib>

#include "core/error.h"

namespace dmdlk {

namespace {

std::atomic<MatmulPrecision>& current() {
  // Read once, at first use: an unknown value fails loudly there rather than
  // being ignored.
  static std::atomic<MatmulPrecision> value{[] {
    const char* env = std::getenv("DMDLK_MATMUL_PRECISION");
    return env && *env ? parse_matmul_precision(env) : MatmulPrecision::High;
  }()};
  return value;
}

}  // namespace

MatmulPrecision matmul_precision() { return current().load(std::memory_order_relaxed); }

void set_matmul_precision(MatmulPrecision precision) { current().store(precision, std::memory_order_relaxed); }

MatmulPrecision parse_matmul_precision(const std::string& name) {
  if (name == "highest") return MatmulPrecision::Highest;
  if (name == "high") return MatmulPrecision::High;
  if (name == "medium") return MatmulPrecision::Medium;
  throw Error(ErrorCode::InvalidArg,
              concat("matmul precision must be 'highest', 'high' or 'medium', got '", name, "'"));
}

const char* matmul_precision_name(MatmulPrecision precision) {
  switch (precision) {
    case MatmulPrecision::Highest: return "highest";
    case MatmulPrecision::High: return "high";
    case MatmulPrecision::Medium: return "medium";
  }
  return "highest";
}

}  // namespace dmdlk
