// What one CUDA kernel launch is: its grid, block and shared memory, and what
// it moves and computes. Every launch of native/cuda takes its geometry from
// a plan_* function of plain host code (in the .cuh of its kernel family), so
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

struct LaunchPlan {
  std::string kernel;        // e.g. "gemm_tensor_cores<tf32>"
  Dim3 grid, block;
  int64_t shared_bytes = 0;  // dynamic + static shared memory per block
  double bytes = 0;          // global memory read + written (unique bytes, as a perfect cache would see them)
  double flops = 0;          // floating-point operations (a multiply-add is 2)
  MathUnit unit = MathUnit::Fp32;
  // The longest chain of dependent steps one thread walks alone (a serial
  // reduction over N elements is N): work that more threads could share.
  int64_t serial_steps = 1;
  int64_t threads() const { return grid.count() * block.count(); }
};

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
