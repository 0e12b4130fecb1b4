// Every foundation op, forward and backward, against PyTorch's values
// (test/reference/gen_foundation_ops.py), in float32 on the CPU.
#include "fixtures.h"
#include "harness.h"
#include "ops/binary.h"
#include "ops/conv2d.h"
#include "ops/matmul.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

constexpr double kAtol = 1e-4, kRtol = 1e-4;

// Runs one fixture case through our op; returns {y, {grad name -> grad}}.
std::pair<Tensor, std::map<std::string, Tensor>> run_case(const FixtureCase& c) {
  const Tensor& dy = c.at("dy");
  if (c.op() == "add" || c.op() == "mul") {
    const Tensor &a = c.at("a"), &b = c.at("b");
    bool is_add = c.op() == "add";
    BinaryGrads g = is_add ? add_backward(dy, a, b) : mul_backward(dy, a, b);
    return {is_add ? add(a, b) : mul(a, b), {{"da", g.da}, {"db", g.db}}};
  }
  if (c.op() == "matmul") {
    MatmulGrads g = matmul_backward(dy, c.at("a"), c.at("b"));
    return {matmul(c.at("a"), c.at("b")), {{"da", g.da}, {"db", g.db}}};
  }
  if (c.op() == "linear") {
    Tensor bias = c.has("bias") ? c.at("bias") : Tensor();
    LinearGrads g = linear_backward(dy, c.at("x"), c.at("weight"), bias.defined());
    std::map<std::string, Tensor> grads{{"dx", g.dx}, {"dweight", g.dweight}};
    if (bias.defined()) grads["dbias"] = g.dbias;
    return {linear(c.at("x"), c.at("weight"), bias), grads};
  }
  if (c.op() == "conv2d") {
    Conv2dOptions o;
    o.stride_h = c.integer("stride", 0), o.stride_w = c.integer("stride", 1);
    o.pad_h = c.integer("padding", 0), o.pad_w = c.integer("padding", 1);
    o.dilation_h = c.integer("dilation", 0), o.dilation_w = c.integer("dilation", 1);
    o.groups = static_cast<int64_t>(c.field("groups").as_index("groups"));
    Tensor bias = c.has("bias") ? c.at("bias") : Tensor();
    Conv2dGrads g = conv2d_backward(dy, c.at("x"), c.at("weight"), bias.defined(), o);
    std::map<std::string, Tensor> grads{{"dx", g.dx}, {"dweight", g.dweight}};
    if (bias.defined()) grads["dbias"] = g.dbias;
    return {conv2d(c.at("x"), c.at("weight"), bias, o), grads};
  }
  throw Error(ErrorCode::Format, concat("fixture ", c.name, " has unknown op ", c.op()));
}

}  // namespace

TEST(foundation_ops_match_pytorch) {
  auto cases = load_fixtures("foundation_ops.safetensors");
  CHECK(cases.size() >= 28);
  for (const auto& [name, c] : cases) {
    auto [y, grads] = run_case(c);
    double worst = closeness(y, c.at("y"), kAtol, kRtol);
    if (!(worst <= 1)) fail(__FILE__, __LINE__, concat(name, ": output off by ", worst, "× the tolerance"));
    for (const auto& [grad_name, grad] : grads) {
      worst = closeness(grad, c.at(grad_name), kAtol, kRtol);
      if (!(worst <= 1)) fail(__FILE__, __LINE__, concat(name, ": ", grad_name, " off by ", worst, "× the tolerance"));
    }
    std::printf("    %-10s %-7s matches PyTorch (y and %zu gradients)\n", name.c_str(), c.op().c_str(), grads.size());
  }
}

int main() { return run_all(); }
