#include "gpu/time_model.h"

#include <algorithm>
#include <cmath>

#include "core/strings.h"

namespace dmdlk::cuda {

namespace {

double peak_of(MathUnit unit, const GpuSpec& gpu) {
  switch (unit) {
    case MathUnit::Fp64: return gpu.fp64;
    case MathUnit::Tf32: return gpu.tf32;
    case MathUnit::Bf16: return gpu.bf16;
    case MathUnit::Fp32: return gpu.fp32;
  }
  return 0;  // not reached: the switch names every unit (-Werror=switch)
}

// Blocks one SM holds at once, as its threads, registers, blocks and shared memory allow.
int64_t resident_blocks(const LaunchPlan& p, const GpuSpec& gpu) {
  int64_t threads = std::max<int64_t>(1, p.block.count());
  int64_t by_threads = gpu.max_threads_per_sm / threads;
  int64_t registers = (std::max<int64_t>(1, p.registers) + 7) / 8 * 8;  // allocated in units of 8 a thread
  int64_t by_registers = gpu.registers_per_sm / (registers * threads);
  int64_t by_shared = p.shared_bytes > 0 ? gpu.shared_per_sm / p.shared_bytes : gpu.max_blocks_per_sm;
  return std::max<int64_t>(1, std::min<int64_t>({gpu.max_blocks_per_sm, by_threads, by_registers, by_shared}));
}

}  // namespace

LaunchTime model_launch(const LaunchPlan& p, const GpuSpec& gpu, const KernelEfficiency& eff) {
  LaunchTime t;
  double blocks = double(p.grid.count()), sms = gpu.sms;
  int64_t resident = resident_blocks(p, gpu);
  t.busy_sms = std::min(sms, blocks);
  // The busiest SM holds ceil(blocks / sms) blocks' work and the launch ends
  // with it: 196 blocks on 132 SMs take as long as 264 would (the tail of a
  // partial wave), so the bounds below count the SMs' share at that rate.
  double effective_sms = blocks / std::ceil(blocks / sms);
  double blocks_per_sm = std::min<double>(double(resident), std::ceil(blocks / sms));
  double warps_per_sm = blocks_per_sm * std::ceil(double(p.block.count()) / 32.0);
  double threads_in_flight = t.busy_sms * blocks_per_sm * double(p.block.count());
  double efficiency = eff.memory * (p.access == MemoryAccess::Gather ? eff.gather : 1.0);
  double bandwidth = std::min(gpu.bandwidth * efficiency * effective_sms / sms,
                              threads_in_flight * eff.bytes_in_flight_per_thread / gpu.memory_latency_seconds);
  t.memory_seconds = p.bytes / bandwidth;
  bool tensor = p.unit == MathUnit::Tf32 || p.unit == MathUnit::Bf16;
  double compute_share = effective_sms / sms * std::min(1.0, warps_per_sm / eff.compute_warps);
  double unit_efficiency = p.compute_efficiency > 0 ? p.compute_efficiency : tensor ? eff.tensor_cores : eff.simt;
  t.compute_seconds = p.flops / (peak_of(p.unit, gpu) * unit_efficiency * compute_share);
  double issue_share = std::min(1.0, warps_per_sm / double(eff.issue_warps));
  t.issue_seconds = p.issue_slots / (effective_sms * gpu.schedulers_per_sm * gpu.clock_hz * eff.issue * issue_share);
  double waves = std::ceil(blocks / (sms * double(resident)));
  t.serial_seconds = double(p.serial_reduction) * eff.serial_step_seconds * waves;
  t.latency_seconds = double(p.dependent_loads) * gpu.memory_latency_seconds * waves;
  t.kernel_seconds =
      std::max({t.memory_seconds, t.compute_seconds, t.issue_seconds, t.serial_seconds, t.latency_seconds});
  return t;
}

const char* LaunchTime::bound() const {
  if (kernel_seconds == memory_seconds) return "memory";
  if (kernel_seconds == compute_seconds) return "compute";
  if (kernel_seconds == issue_seconds) return "issue";
  if (kernel_seconds == serial_seconds) return "serial";
  return "latency";
}

double model_sequence(const std::vector<LaunchPlan>& plans, bool graph, const GpuSpec& gpu,
                      const KernelEfficiency& eff) {
  double device = 0;
  for (const LaunchPlan& p : plans) device += model_launch(p, gpu, eff).kernel_seconds + gpu.launch_gap_seconds;
  double host = graph ? 0 : double(plans.size()) * gpu.launch_seconds;
  return std::max(device, host);
}

std::vector<std::string> broken_rules(const LaunchPlan& p, const PlanRules& rules, const GpuSpec& gpu) {
  std::vector<std::string> broken;
  bool fills = p.grid.count() >= rules.min_blocks && p.block.count() >= rules.min_threads_per_block;
  double seconds = model_launch(p, gpu).kernel_seconds;
  if (!fills && seconds >= rules.small_launch_seconds)
    broken.push_back(concat("underfills the GPU: ", p.grid.count(), " blocks of ", p.block.count(), " threads (needs ",
                            rules.min_blocks, " of ", rules.min_threads_per_block, ", or a modelled time under ",
                            rules.small_launch_seconds * 1e6, " us; modelled ", seconds * 1e6, " us)"));
  if (p.serial_reduction > rules.max_serial_reduction)
    broken.push_back(concat("a thread reduces ", p.serial_reduction, " elements serially (at most ",
                            rules.max_serial_reduction, ")"));
  if (p.shared_bytes > rules.max_shared_bytes)
    broken.push_back(
        concat("uses ", p.shared_bytes, " bytes of shared memory per block (at most ", rules.max_shared_bytes, ")"));
  if (p.grid.x < 1 || p.grid.x > (int64_t(1) << 31) - 1 || p.grid.y < 1 || p.grid.y > 65535 || p.grid.z < 1 ||
      p.grid.z > 65535)
    broken.push_back(concat("grid [", p.grid.x, ", ", p.grid.y, ", ", p.grid.z, "] is outside CUDA's limits"));
  if (p.block.count() < 1 || p.block.count() > 1024 || p.block.z > 64)
    broken.push_back(concat("block [", p.block.x, ", ", p.block.y, ", ", p.block.z, "] is outside CUDA's limits"));
  return broken;
}

}  // namespace dmdlk::cuda
