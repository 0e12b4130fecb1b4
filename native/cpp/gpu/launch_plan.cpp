#include "gpu/launch_plan.h"

#include <algorithm>

namespace dmdlk::cuda {

namespace {
thread_local LaunchLog* current = nullptr;
}  // namespace

LaunchPlan elementwise_plan(std::string kernel, int64_t n, double bytes, double flops, int64_t threads) {
  LaunchPlan p;
  p.kernel = std::move(kernel);
  p.block.x = threads;
  p.grid.x = std::min<int64_t>(blocks_to_cover(n, threads), 65535 * 8);
  p.bytes = bytes;
  p.flops = flops;
  return p;
}

LaunchLog::LaunchLog() : previous_(current) { current = this; }
LaunchLog::~LaunchLog() { current = previous_; }
LaunchLog* LaunchLog::active() { return current; }

}  // namespace dmdlk::cuda
