// Double-precision finite-difference checks of every op's backward, one per
// case of test/op_cases.json that names the 'grad' check (all but those at
// points where finite differences are undefined, such as ties of a max).

#include <set>

#include "gradcheck.h"
#include "gradient_sums.h"
#include "op_cases.h"
#include "ops/activation.h"
#include "ops/binary.h"
#include "ops/conv2d.h"
#include "ops/normalization.h"

using namespace dmdlk;
using namespace dmdlk::test;

// Each case through its OpDef: the loss differentiates the op's first output,
// the one the network reads; the other outputs (a norm's statistics) are what
// its backward reads, recomputed with the inputs.
TEST(every_case_gradient) {
  for (const OpCase& c : op_cases()) {
    if (!c.grad) continue;
    std::mt19937 rng(uint32_t(std::hash<std::string>{}(c.name)));
    const OpDef& op = *c.op;
    OpAttrs attrs = c.attrs;
    gradcheck(
        c.name, draw_inputs(c.inputs, DType::F64, rng), [&](const Tensors& in) { return op.forward(in, attrs)[0]; },
        [&](const Tensors& in, const Tensor& dy) {
          Tensors out = op.forward(in, attrs);
          Tensors dout(out.size());
          dout[0] = dy;
          return op.backward(in, out, dout, attrs, WantedGrads{});
        });
  }
}

// The ops that add a gradient into one the graph holds (gradient_sums.h), in float64.
TEST(every_op_that_adds_into_a_gradient_adds_it) {
  int checked = 0;
  std::set<std::string> ops;
  for (const OpCase& c : op_cases()) {
    std::mt19937 rng(uint32_t(std::hash<std::string>{}(c.name)) + 1);
    int n = check_gradient_sums(c, Device::cpu(), DType::F64, 1e-12, rng);
    checked += n;
    if (n > 0) ops.insert(c.op->name);
  }
  std::printf("    %d cases' input gradients added into a given one, of %zu ops\n", checked, ops.size());
  for (const char* op : {"linear", "conv2d", "batch_norm", "layer_norm", "deform_conv2d"}) CHECK(ops.count(op) == 1);
}

// Every op of the registry has a gradient case: a new op without one fails here.
TEST(every_op_and_attribute_value_has_a_gradient_case) {
  for (const std::string& what : uncovered([](const OpCase& c) { return c.grad; }))
    fail(__FILE__, __LINE__, concat(what, " has no gradient case in test/op_cases.json"));
}

// A backward asked for fewer gradients (the graph's stem: no gradient of the
// images) computes the others as the full backward does, on every
// convolution path: 1×1 columns, im2col + col2im, dx as a convolution,
// grouped; depthwise computes dx anyway (one kernel makes both).
TEST(a_convolution_without_its_input_gradient_computes_the_rest_alike) {
  const OpDef& op = op_def(OpKind::Conv2d);
  struct Case {
    Shape x, w;
    Conv2dOptions o;
  };
  std::vector<Case> cases(5);
  cases[0] = {{2, 4, 5, 6}, {3, 4, 1, 1}, {}};
  cases[1] = {{2, 3, 9, 8}, {4, 3, 3, 3}, {}};
  cases[1].o.stride_h = cases[1].o.stride_w = 2, cases[1].o.pad_h = cases[1].o.pad_w = 1;
  cases[2] = {{1, 2, 7, 7}, {3, 2, 3, 3}, {}};
  cases[2].o.pad_h = cases[2].o.pad_w = 1;
  cases[3] = {{1, 4, 6, 6}, {6, 2, 3, 3}, {}};
  cases[3].o.groups = 2, cases[3].o.pad_h = cases[3].o.pad_w = 1;
  cases[4] = {{1, 3, 6, 6}, {3, 1, 3, 3}, {}};
  cases[4].o.groups = 3;
  std::mt19937 rng(9);
  for (const Case& c : cases) {
    Tensors in{random_tensor(c.x, rng), random_tensor(c.w, rng), random_tensor({c.w[0]}, rng)};
    Tensors out = op.forward(in, c.o);
    Tensors dout{random_tensor(out[0].shape(), rng)};
    Tensors all = op.backward(in, out, dout, c.o, WantedGrads{});
    Tensors some = op.backward(in, out, dout, c.o, WantedGrads{~1u});
    bool depthwise = c.o.groups == c.x[1] && c.w[1] == 1;
    CHECK(some[0].defined() == depthwise);
    for (size_t k = 1; k < 3; ++k) CHECK(closeness(all[k], some[k], 1e-300, 0) <= 1);  // the same numbers
  }
}

// The harness itself must be able to fail: a deliberately wrong backward is caught.
TEST(gradcheck_catches_a_wrong_backward) {
  std::mt19937 rng(6);
  int before = failures();
  expecting_failures() = true;
  gradcheck(
      "mul with a wrong gradient", {random_tensor({3, 4}, rng), random_tensor({3, 4}, rng)},
      [](auto& in) { return mul(in[0], in[1]); },
      [](auto& in, auto& dy) {
        auto g = add_backward(dy, in[0], in[1]);
        return std::vector<Tensor>{g.da, g.db};
      });
  expecting_failures() = false;
  bool caught = failures() > before;
  failures() = before;
  CHECK(caught);
}

int main() { return run_all(); }
