// Double-precision finite-difference checks of every op's backward, one per
// case of test/op_cases.json that names the 'grad' check (all but those at
// points where finite differences are undefined, such as ties of a max).
#include <set>

#include "gradcheck.h"
#include "op_cases.h"
#include "ops/activation.h"
#include "ops/binary.h"
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
          return op.backward(in, out, dout, attrs);
        });
  }
}

// Every op of the registry has a gradient case: a new op without one fails here.
TEST(every_op_has_a_gradient_case) {
  std::set<OpKind> covered;
  for (const OpCase& c : op_cases())
    if (c.grad) covered.insert(c.op->kind);
  for (size_t k = 0; k < size_t(OpKind::Count); ++k)
    if (!covered.count(OpKind(k)))
      fail(__FILE__, __LINE__, concat("op '", op_def(OpKind(k)).name, "' has no gradient case in test/op_cases.json"));
}

// Every value of an op's attribute enum (the names its table lists) has a gradient case too.
template <typename E, size_t N>
void every_value_has_a_gradient_case(OpKind kind, const EnumName<E> (&names)[N]) {
  for (const EnumName<E>& entry : names) {
    bool found = false;
    for (const OpCase& c : op_cases())
      if (c.grad && c.op->kind == kind && std::get<E>(c.attrs) == entry.value) found = true;
    if (!found)
      fail(__FILE__, __LINE__, concat("op '", op_def(kind).name, "' has no gradient case for '", entry.name, "'"));
  }
}

TEST(every_attribute_enum_value_has_a_gradient_case) {
  every_value_has_a_gradient_case(OpKind::Activation, kActivationNames);
  every_value_has_a_gradient_case(OpKind::LayerNorm, kLayerNormAxisNames);
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
