// What one CUDA kernel launch is: its grid, block and shared memory, and what
// it moves and computes. Every launch of native/cuda takes its geometry from
// a plan_* function of plain host code (in native/cpp/gpu/<family>.h), so
// a test on a machine without a GPU can build the plans of a whole training
// step, check that each fills the GPU, and model its time (time_model.h).
// Compiled by g++ and nvcc alike: no CUDA syntax here.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace dmdlk::cuda {

struct Dim3 {
  int64_t x = 1, y = 1, z = 1;
  int64_t count() const { return x * y * z; }
};

// Which arithmetic units a launch's flops run on (which peak applies).
enum class MathUnit { Fp32, Fp64, Tf32, Bf16 };

// How a launch's threads reach memory. Coalesced: neighbouring threads touch
// neighbouring addresses, 32-bit index math. Gather: per-element 64-bit
// division and modulo for indices, reads scattered by data (deformable
// sampling) or strided (pooling, depthwise, upsampling windows): such
// kernels reach a fraction of the bandwidth (time_model.h, calibrated).
enum class MemoryAccess { Coalesced, Gather };

struct LaunchPlan {
  std::string kernel;  // e.g. "conv_forward_wmma_128x128<tf32>"
  Dim3 grid, block;
  int64_t shared_bytes = 0;          // shared memory per block, static and dynamic
  int64_t registers = 32;            // per thread, as ptxas allocates them (they bound the blocks an SM holds)
  int64_t dynamic_shared_bytes = 0;  // of which requested at launch
  double bytes = 0;                  // global memory read + written (unique bytes, as a perfect cache would see them)
  double flops = 0;                  // floating-point operations (a multiply-add is 2)
  MathUnit unit = MathUnit::Fp32;
  MemoryAccess access = MemoryAccess::Coalesced;
  // The fraction of `unit`'s peak this kernel's arithmetic reaches when it
  // fills the GPU, where measured for this kernel; 0: the time model's
  // default for the unit (time_model.h, KernelEfficiency).
  double compute_efficiency = 0;
  // The most elements one thread sums (or otherwise reduces) alone, one after
  // the other: 1 for element-wise work. Work that more threads could share.
  int64_t serial_reduction = 1;
  // Warp instructions the SMs must issue, where counted from the kernel's
  // PTX (the tiled GEMMs: gemm_issue_table.h); 0 where not counted.
  double issue_slots = 0;
  // Loads a block waits for one after another, each at least a memory latency
  // from its issue to its use: a tiled GEMM's K slices per split (each slice
  // is fetched while the one before it is multiplied) and the first fetch; 0
  // where not modelled. Blocks resident on an SM wait side by side.
  int64_t dependent_loads = 0;
  int64_t threads() const { return grid.count() * block.count(); }
};

// One thread per element of n, `threads` a block, as many blocks as cover n
// (at most 65535·8: a grid-stride loop then does the rest). `bytes` and
// `flops` are the whole launch's.
LaunchPlan elementwise_plan(std::string kernel, int64_t n, double bytes, double flops = 0, int64_t threads = 256);

// A tensor of `bytes` set to zero (Tensor::zeros: cudaMemsetAsync, a driver
// kernel that writes 16 bytes a thread).
inline LaunchPlan plan_fill_zero(int64_t bytes);

// Appends `more` to `plans` (an op's launches, pass by pass).
inline void append(std::vector<LaunchPlan>& plans, const std::vector<LaunchPlan>& more) {
  plans.insert(plans.end(), more.begin(), more.end());
}

// Blocks of `threads` covering n items.
inline int64_t blocks_to_cover(int64_t n, int64_t threads) { return n <= 0 ? 1 : (n + threads - 1) / threads; }

inline LaunchPlan plan_fill_zero(int64_t bytes) {
  return elementwise_plan("memset", blocks_to_cover(bytes, 16), double(bytes));
}

// Where the launches of a scope are collected (LaunchLog::active() is null
// when none is): the launcher of native/cuda appends each plan it launches,
// so a GPU run can check that the plans of a model step are the launches it
// makes. Per thread, so that two models on two threads do not mix.
class LaunchLog {
 public:
  LaunchLog();
  ~LaunchLog();
  LaunchLog(const LaunchLog&) = delete;
  LaunchLog& operator=(const LaunchLog&) = delete;
  static LaunchLog* active();
  std::vector<LaunchPlan> launches;

 private:
  LaunchLog* previous_;
};

}  // namespace dmdlk::cuda
