#include "cuda/launch_plan.h"

namespace dmdlk::cuda {

namespace {
thread_local LaunchLog* current = nullptr;
}  // namespace

LaunchLog::LaunchLog() : previous_(current) { current = this; }
LaunchLog::~LaunchLog() { current = previous_; }
LaunchLog* LaunchLog::active() { return current; }

}  // namespace dmdlk::cuda
