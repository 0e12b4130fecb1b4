#include "nn/step_graph.h"

#include <cstdlib>
#include <cstring>

#include "core/storage_source.h"

namespace dmdlk {

namespace {

thread_local bool capturing_now = false;

// Copies `from` (on any device) into `to`, a buffer the graph reads.
void copy_input(const Tensor& to, const Tensor& from) {
  DMDLK_CHECK(from.shape() == to.shape() && from.dtype() == to.dtype(), ErrorCode::Internal,
              "a captured step's input changed from ", shape_str(to.shape()), " to ", shape_str(from.shape()));
  int device = to.device().index;
  if (from.device().is_cpu()) cuda::copy_host_to_device(device, to.raw(), from.raw(), from.nbytes());
  else cuda::copy_device_to_device(device, to.raw(), from.raw(), from.nbytes());
}

}  // namespace

bool StepGraphs::enabled() {
  const char* v = std::getenv("DMDLK_CUDA_GRAPHS");
  return !(v && std::strcmp(v, "0") == 0);
}

bool StepGraphs::capturing() { return capturing_now; }

StepGraphs::Result StepGraphs::launched(StepMemory& memory, const std::vector<Tensor>& inputs, const Work& work) {
  Result r;
  r.open_step = std::make_unique<StepMemory::Scope>(&memory);
  r.outputs = work(inputs);
  return r;
}

StepGraphs::Result StepGraphs::run(const Key& key, Device device, StepMemory& memory, uint64_t version,
                                   const std::vector<Tensor>& inputs, const Work& work) {
  // A step inside another's memory scope would not get its memory pinned.
  if (!device.is_cuda() || !enabled() || !StepMemory::enabled() || storage_source())
    return launched(memory, inputs, work);
  Captured& c = captured_[key];
  if (c.failed) return launched(memory, inputs, work);
  if (c.graph && c.version != version) {
    cuda::synchronize(device.index);  // its last replay may still run: let it finish before its memory goes
    c = Captured{};
  }
  if (c.graph) {
    for (size_t i = 0; i < inputs.size(); ++i) copy_input(c.inputs[i], inputs[i]);
    cuda::replay(device.index, *c.graph);
    ++stats_.replays;
    return {nullptr, c.outputs, true};
  }
  if (!memory.planned()) return launched(memory, inputs, work);
  return capture(c, device, memory, version, inputs, work);
}

StepGraphs::Result StepGraphs::capture(Captured& c, Device device, StepMemory& memory, uint64_t version,
                                       const std::vector<Tensor>& inputs, const Work& work) {
  std::vector<Tensor> fixed;  // the buffers the graph reads its inputs from, filled before it runs
  for (const Tensor& t : inputs) fixed.push_back(t.to(device).clone());
  std::shared_ptr<void> pinned;
  std::vector<Tensor> outputs;
  std::string why;
  bool open = false;
  try {
    cuda::begin_capture(device.index);
    open = capturing_now = true;
    pinned = memory.pin_next_step();
    StepMemory::Scope planned(&memory);
    outputs = work(fixed);
  } catch (const Error& e) {
    capturing_now = false;
    if (open) cuda::end_capture(device.index, why);
    // Nothing ran. A CUDA error is the capture's (a call it does not allow),
    // and so is running out of memory (a pinned step cannot fall back to the
    // allocator, nor the allocator give its cache back mid-capture): this
    // kind of step runs as launched from now on. Any other error is the
    // step's own (bad input), and running it would raise it again.
    if (e.code() != ErrorCode::Cuda && e.code() != ErrorCode::GpuOom && e.code() != ErrorCode::HostOom) throw;
    why = e.what();
  } catch (...) {
    capturing_now = false;
    if (open) cuda::end_capture(device.index, why);
    throw;
  }
  capturing_now = false;
  std::shared_ptr<cuda::Graph> graph = why.empty() ? cuda::end_capture(device.index, why) : nullptr;
  if (!graph) {
    c = Captured{};
    c.failed = true;
    ++stats_.failures;
    stats_.last_failure = why;
    outputs.clear();
    pinned.reset();
    return launched(memory, inputs, work);
  }
  c = Captured{graph, std::move(pinned), std::move(fixed), outputs, version, false};
  cuda::replay(device.index, *graph);  // this step's run
  ++stats_.captures;
  return {nullptr, std::move(outputs), true};
}

}  // namespace dmdlk
