// Every op case of test/op_cases.json that names the 'torch' check, forward
// and backward, against PyTorch's values (test/reference/gen_op_fixtures.py
// wrote them to test/fixtures/op_cases.safetensors), in float32 on the CPU;
// and the Adam and AdamW updates, with clipping, against torch.optim (gen_adam.py).
#include <algorithm>
#include <cmath>
#include <set>

#include "fixtures.h"
#include "harness.h"
#include "op_cases.h"
#include "ops/adam.h"
#include "ops/losses.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

constexpr double kAtol = 1e-4, kRtol = 1e-4;

void expect_close(const std::string& what, const Tensor& ours, const Tensor& theirs) {
  if (ours.shape() != theirs.shape()) {
    fail(__FILE__, __LINE__,
         concat(what, ": shape ", shape_str(ours.shape()), ", PyTorch's ", shape_str(theirs.shape())));
    return;
  }
  double worst = closeness(ours, theirs, kAtol, kRtol);
  if (!(worst <= 1)) fail(__FILE__, __LINE__, concat(what, " off by ", worst, "× the tolerance"));
}

const std::map<std::string, FixtureCase>& fixtures() {
  static const auto all = load_fixtures("op_cases.safetensors");
  return all;
}

}  // namespace

// The fixture file and test/op_cases.json describe the same cases: an edited
// case whose fixtures were not regenerated fails here, not as a wrong value.
TEST(fixtures_are_those_of_the_cases) {
  std::set<std::string> expected;
  for (const OpCase& c : op_cases()) {
    if (!c.torch) continue;
    expected.insert(c.name);
    auto it = fixtures().find(c.name);
    if (it == fixtures().end()) {
      fail(__FILE__, __LINE__, concat(c.name, " has no fixtures: run test/reference/gen_op_fixtures.py"));
      continue;
    }
    CHECK(it->second.op() == c.op->name);
    for (const InputSpec& s : c.inputs)
      if (!it->second.has(s.name) || it->second.at(s.name).shape() != s.shape)
        fail(__FILE__, __LINE__,
             concat(c.name, ".", s.name, ": the fixture's shape is not the case's; regenerate the fixtures"));
  }
  for (const auto& [name, f] : fixtures())
    if (!expected.count(name)) fail(__FILE__, __LINE__, concat("fixture ", name, " has no case in test/op_cases.json"));
}

TEST(every_op_and_attribute_value_is_checked_against_pytorch) {
  for (const std::string& what : uncovered([](const OpCase& c) { return c.torch; }))
    fail(__FILE__, __LINE__, concat(what, " has no case checked against PyTorch in test/op_cases.json"));
}

TEST(every_case_matches_pytorch) {
  for (const OpCase& c : op_cases()) {
    if (!c.torch || !fixtures().count(c.name)) continue;
    const FixtureCase& f = fixtures().at(c.name);
    Tensors in;
    for (const InputSpec& s : c.inputs) in.push_back(f.at(s.name).clone());  // clones: state is updated in place
    Tensors out = c.op->forward(in, c.attrs);
    Tensors dout(out.size());
    dout[0] = f.at("dy");
    Tensors grads = c.op->backward(in, out, dout, c.attrs, WantedGrads{});
    expect_close(concat(c.name, ": y"), out[0], f.at("y"));
    size_t compared = 1;
    for (size_t k = 0; k < c.inputs.size(); ++k) {
      const std::string& input = c.inputs[k].name;
      if (f.has("grad." + input)) {
        if (k < grads.size() && grads[k].defined())
          expect_close(concat(c.name, ": gradient of ", input), grads[k], f.at("grad." + input));
        else fail(__FILE__, __LINE__, concat(c.name, ": PyTorch has a gradient of ", input, ", we have none"));
        ++compared;
      }
      if (f.has("after." + input)) {
        expect_close(concat(c.name, ": ", input, " after the call"), in[k], f.at("after." + input));
        ++compared;
      }
    }
    std::printf("    %-26s %-16s matches PyTorch (%zu tensors)\n", c.name.c_str(), c.op->name, compared);
  }
}

// Three steps of Adam and AdamW over two tensors, with and without weight
// decay, and with their gradients' global norm clipped as the trainer does
// (the coefficient of clip_grad_norm_ as grad_scale), against torch.optim.Adam,
// torch.optim.AdamW and torch.nn.utils.clip_grad_norm_.
TEST(adam_and_adamw_match_pytorch) {
  auto cases = load_fixtures("adam.safetensors");
  CHECK(cases.size() == 5);
  int decoupled = 0, clipped = 0;
  for (const auto& [name, c] : cases) {
    AdamOptions o;
    o.lr = std::stod(c.field("lr").text);
    o.weight_decay = std::stod(c.field("weight_decay").text);
    o.decoupled_weight_decay = c.field("decoupled").boolean;
    double clip = std::stod(c.field("clip").text);
    decoupled += o.decoupled_weight_decay, clipped += clip > 0;
    Tensor p = c.at("p0").clone(), q = c.at("q0").clone();
    Tensor pm = Tensor::zeros(p.shape(), p.dtype()), pv = pm.clone(), qm = Tensor::zeros(q.shape(), q.dtype()),
           qv = qm.clone();
    for (int s = 1; s <= 3; ++s) {
      o.step = s;
      const Tensor &g = c.at(concat("g", s)), &h = c.at(concat("h", s));
      if (clip > 0) {
        double sum = 0;
        for (const Tensor* t : {&g, &h})
          for (float x : t->to_vector<float>()) sum += double(x) * x;
        o.grad_scale = std::min(1.0, clip / (std::sqrt(sum) + 1e-6));
      }
      adam_step(p, g, pm, pv, o);
      adam_step(q, h, qm, qv, o);
      expect_close(concat(name, ": first tensor after step ", s), p, c.at(concat("p", s)));
      expect_close(concat(name, ": second tensor after step ", s), q, c.at(concat("q", s)));
    }
  }
  CHECK(decoupled == 3 && clipped == 1);
}

TEST(losses_reject_bad_targets) {
  Tensor logits = Tensor::zeros({1, 2, 2, 2}, DType::F32);
  CHECK_THROWS(cross_entropy(logits, Tensor::from_vector(std::vector<int32_t>{0, 1, 2, 0}, {1, 2, 2})),
               ErrorCode::InvalidArg, "target 2 at pixel 2 is not a class index in [0, 2)");
  CHECK_THROWS(dice_loss(logits, Tensor::zeros({1, 2, 2}, DType::F32)), ErrorCode::DType, "targets must be int32");
  CHECK_THROWS(cross_entropy(logits, Tensor::zeros({1, 2, 3}, DType::I32)), ErrorCode::Shape,
               "targets must have shape [1, 2, 2]");
}

int main() { return run_all(); }
