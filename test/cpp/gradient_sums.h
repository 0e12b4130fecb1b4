// Ops that add an input's gradient into one the graph already holds
// (OpDef::adds_into, WantedGrads::into; graph.cpp's run_backward), checked on
// a device: given a tensor to add into, the backward must return that very
// tensor, holding what it held plus the gradient the op computes alone, and
// the other gradients as alone. Run on the CPU (test_gradcheck) and on CUDA
// (test_gpu_parity).
#pragma once
#include <random>
#include <string>

#include "gradcheck.h"
#include "harness.h"
#include "op_cases.h"
#include "ops/binary.h"

namespace dmdlk::test {

// Checks case `c` on `device` in `dtype`; returns how many inputs it checked.
inline int check_gradient_sums(const OpCase& c, Device device, DType dtype, double tol, std::mt19937& rng) {
  if (!c.op->adds_into || !c.grad) return 0;
  const std::vector<Shape> shapes = shapes_of(c.inputs);
  Tensors in;
  for (const Tensor& t : draw_inputs(c.inputs, dtype, rng)) in.push_back(t.to(device));
  Tensors out = c.op->forward(in, c.attrs);
  Tensors dout(out.size());
  dout[0] = random_tensor(out[0].shape(), rng, 1.0, dtype).to(device);
  const Tensors alone = c.op->backward(in, out, dout, c.attrs, WantedGrads{});
  int checked = 0;
  for (size_t k = 0; k < in.size(); ++k) {
    if (k >= alone.size() || !c.op->adds_into(shapes, c.attrs, k) || !alone[k].defined()) continue;
    const Tensor held_before = random_tensor(in[k].shape(), rng, 1.0, dtype);
    Tensors into(in.size());
    into[k] = held_before.to(device).clone();
    const void* storage = into[k].raw();
    WantedGrads wanted;
    wanted.into = &into;
    Tensors summed = c.op->backward(in, out, dout, c.attrs, wanted);
    const std::string what = concat(c.name, " on ", device.is_cpu() ? "the CPU" : "CUDA", ", input ", k);
    if (summed[k].raw() != storage) fail(__FILE__, __LINE__, concat(what, ": not added into the tensor given"));
    Tensor expected = add(held_before, alone[k].to(Device::cpu()));
    double c_sum = closeness(summed[k], expected, tol, tol);
    if (!(c_sum <= 1)) fail(__FILE__, __LINE__, concat(what, ": the sum is off by ", c_sum, "× the tolerance"));
    for (size_t j = 0; j < alone.size() && j < summed.size(); ++j) {
      if (j == k || !alone[j].defined()) continue;
      double c_other = closeness(summed[j], alone[j], tol, tol);
      if (!(c_other <= 1))
        fail(__FILE__, __LINE__, concat(what, ": input ", j, "'s gradient changed by ", c_other, "× the tolerance"));
    }
    ++checked;
  }
  return checked;
}

}  // namespace dmdlk::test
