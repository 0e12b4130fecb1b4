// A model of how long a launch takes on a GPU, from its plan alone: the
// memory it moves at the GPU's bandwidth, the flops it does at the peak of the
// units it uses, scaled by how much of the GPU its grid can keep busy, plus
// the cost of a launch. Without a GPU it is how this project sees GPU
// performance; with one, bench/gpu.sh measures what it predicts. The ceilings
// are the H200's, measured on the lent machine (shared/measurements,
// 2026-11-30: GEMM peaks through PyTorch, copy bandwidth); the efficiencies
// are calibrated against the same day's op table (README, "GPU time model").
//
// What it ignores: caches (bytes are unique bytes), bank conflicts, atomics'
// contention, the tail of a partial last wave beyond its share, clocks, and
// overlap between launches (they run one after another on one stream).
#pragma once
#include <string>

#include "cuda/launch_plan.h"

namespace dmdlk::cuda {

struct GpuSpec {
  std::string name = "H200";
  int sms = 132;
  double bandwidth = 4.3e12;                  // bytes/s, device memory
  double fp32 = 50.9e12, tf32 = 394e12, bf16 = 751e12, fp64 = 34e12;  // flop/s
  int max_threads_per_sm = 2048, max_blocks_per_sm = 32;
  int64_t shared_per_sm = 228 * 1024, shared_per_block = 227 * 1024;
  double launch_seconds = 4e-6;  // a kernel launch on a stream, without CUDA graphs
};

// How well our kernels reach those ceilings when they do fill the GPU.
struct KernelEfficiency {
  double memory = 0.75;        // of the bandwidth, streaming kernels
  double simt = 0.35;          // of the CUDA cores' peak (our SIMT GEMM: 0.24–0.44 of cuBLAS, measured)
  double tensor_cores = 0.35;  // of the tensor cores' peak (WMMA, staged slices)
  // Warps an SM needs in flight to hide memory latency; fewer scale its share down.
  int latency_warps = 32;
  // A serial reduction step of one thread (a dependent load and add) when the
  // other warps cannot hide it: what a thread that walks N elements alone costs.
  double serial_step_seconds = 1.2e-9;
};

struct LaunchTime {
  double seconds = 0;         // the kernel's run and its launch
  double kernel_seconds = 0;  // the run alone: the slowest of memory, compute and the serial chain
  double memory_seconds = 0, compute_seconds = 0, serial_seconds = 0;
  double busy_sms = 0;  // SMs the grid keeps busy (at most sms)
};

LaunchTime model_launch(const LaunchPlan& plan, const GpuSpec& gpu = GpuSpec(), const KernelEfficiency& eff = KernelEfficiency());

// The rules every planned launch of a model step must meet (test_launch_plans).
struct PlanRules {
  int64_t min_blocks = 2 * 132, min_threads_per_block = 128;
  // A kernel modelled to run this fast may use the GPU as it likes (its run,
  // not the launch cost every kernel pays alike and CUDA graphs take away).
  double small_launch_seconds = 5e-6;
  int64_t max_serial_reduction = 4096;
  int64_t max_shared_bytes = 227 * 1024;
};

// The rules `plan` breaks, each in words ("fills 2 of 264 blocks", ...); empty when none.
std::vector<std::string> broken_rules(const LaunchPlan& plan, const PlanRules& rules = PlanRules(),
                                      const GpuSpec& gpu = GpuSpec());

}  // namespace dmdlk::cuda
