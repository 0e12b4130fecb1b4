// A model of how long a launch takes on a GPU, from its plan alone: the
// memory it moves, the flops it does at the peak of the units it uses, and
// the serial chain of its longest thread, each scaled by how much of the GPU
// its grid keeps busy; and of a sequence of launches, which the host issues
// one after another while the GPU runs them. Without a GPU it is how this
// project sees GPU performance; with one, bench/gpu.sh measures what it
// predicts. The ceilings are the H200's, measured on the lent machine
// (GEMM peaks through PyTorch, copy bandwidth, 2026-11-30); the efficiencies
// and latencies are fitted to the same day's op table and model rows
// (bench/time_model_vs_h200.py prints the comparison; README, "GPU time model").
//
// Memory: a launch streams at most its busy SMs' share of the bandwidth, and
// at most what its resident threads keep in flight (Little's law: bytes in
// flight / memory latency), which is what limits a launch of a few blocks.
// Issue: the warp instructions a launch must issue (LaunchPlan::issue_slots,
// counted from the PTX of the tiled GEMMs by bench/ptx-issue.cjs), at the
// busy SMs' four schedulers' one instruction a cycle each, scaled by how
// often a scheduler finds a warp ready. A kernel whose index arithmetic
// outweighs its multiply-adds is bound here, whatever its tensor cores do.
// Latency: the loads a block waits for one after another
// (LaunchPlan::dependent_loads, a GEMM's K slices), a memory latency each,
// for each wave of the blocks an SM holds at once: where this binds, the
// loads are exposed (a deeper pipeline or more resident blocks would hide
// them); where issue or compute bind, the multiply of one slice covers the
// fetch of the next.
// What it ignores: caches (bytes are those a kernel requests once), bank
// conflicts, atomics' contention, the issue of kernels whose PTX is not
// counted (the element-wise, normalization, pooling and reduction kernels:
// their loops hold every op kind's path, so a static count would overstate
// them; taken to be bound by memory), clocks and power, and concurrency
// between launches (one stream). The tail of a partial last wave it counts.
#pragma once
#include <string>
#include <vector>

#include "gpu/launch_plan.h"

namespace dmdlk::cuda {

struct GpuSpec {
  std::string name = "H200";
  int sms = 132;
  double bandwidth = 4.3e12;                                          // bytes/s, device memory
  double fp32 = 50.9e12, tf32 = 394e12, bf16 = 751e12, fp64 = 34e12;  // flop/s
  int max_threads_per_sm = 2048, max_blocks_per_sm = 32;
  int64_t registers_per_sm = 65536;
  int64_t shared_per_sm = 228 * 1024, shared_per_block = 227 * 1024;
  int schedulers_per_sm = 4;               // warp schedulers, one instruction a cycle each
  double clock_hz = 1.98e9;                // boost clock
  double memory_latency_seconds = 600e-9;  // a load from device memory under load (fitted)
  // The host's cost of one launch through our launcher (argument checks, the
  // plan, cudaLaunchKernel): a sequence of short kernels runs at this pace
  // unless it is replayed from a CUDA graph (fitted).
  double launch_seconds = 8e-6;
  double launch_gap_seconds = 1e-6;  // between two kernels on the GPU itself, graphs or not
};

// How well our kernels reach those ceilings (fitted, see above).
struct KernelEfficiency {
  double memory = 0.6;   // of the bandwidth, coalesced streaming kernels
  double gather = 0.15;  // times `memory` for MemoryAccess::Gather kernels
  double simt = 0.2;     // of the CUDA cores' peak (our SIMT GEMM: 0.24–0.44 of cuBLAS, measured)
  // Of the tensor cores' peak, for a kernel that keeps them fed (an assumption
  // until one is measured: our first WMMA GEMM reached far less, and its plan
  // says so with its own LaunchPlan::compute_efficiency).
  double tensor_cores = 0.35;
  double bytes_in_flight_per_thread = 16;  // a resident thread's outstanding loads
  // Warps an SM needs in flight to keep its arithmetic pipes busy; fewer scale
  // its share down. The same for tensor-core tiles: 8 there predicted the
  // H200's TF32 step 31% fast (README, "GPU time model"), 16 within 15%.
  int compute_warps = 16;
  // A step of one thread's serial chain (a dependent load and add) when the
  // other warps cannot hide it.
  double serial_step_seconds = 20e-9;
  // Of the schedulers' peak issue rate, for a loop of loads, index arithmetic
  // and multiply-adds with enough warps resident (an assumption until a GPU
  // measures it), and the warps an SM needs for that (two a scheduler).
  double issue = 0.6;
  int issue_warps = 8;
};

struct LaunchTime {
  double kernel_seconds = 0;  // the run on the GPU: the slowest of memory, compute, issue, serial chain and latency
  double memory_seconds = 0, compute_seconds = 0, issue_seconds = 0, serial_seconds = 0, latency_seconds = 0;
  double busy_sms = 0;        // SMs the grid keeps busy (at most sms)
  const char* bound() const;  // "memory", "compute", "issue", "serial" or "latency": which one kernel_seconds is
};

LaunchTime model_launch(const LaunchPlan& plan, const GpuSpec& gpu = GpuSpec(),
                        const KernelEfficiency& eff = KernelEfficiency());

// A sequence of launches on one stream: the GPU's kernels and gaps, or the
// host's pace of issuing them, whichever is slower (with `graph`, replayed
// from a CUDA graph: no host cost per launch).
double model_sequence(const std::vector<LaunchPlan>& plans, bool graph = false, const GpuSpec& gpu = GpuSpec(),
                      const KernelEfficiency& eff = KernelEfficiency());

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
