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

thread_local std::optional<MatmulPrecision> thread_precision;

}  // namespace

MatmulPrecision matmul_precision() {
  return thread_precision ? *thread_precision : current().load(std::memory_order_relaxed);
}

ThreadMatmulPrecision::ThreadMatmulPrecision(std::optional<MatmulPrecision> precision) : previous_(thread_precision) {
  thread_precision = precision;
}

ThreadMatmulPrecision::~ThreadMatmulPrecision() { thread_precision = previous_; }

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
