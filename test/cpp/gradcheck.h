// Finite-difference gradient checks in double precision. For an op
// y = f(inputs) and a random upstream gradient dy, the scalar
// L = Σ dy ⊙ f(inputs) has ∂L/∂input = the op's backward(inputs, dy); each
// checked element is compared with (L(x + h) − L(x − h)) / 2h.
#pragma once
#include <functional>
#include <random>
#include <vector>

#include "harness.h"

namespace dmdlk::test {

inline Tensor random_tensor(const Shape& shape, std::mt19937& rng, double scale = 1.0, DType dtype = DType::F64) {
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<double> values(static_cast<size_t>(shape_numel(shape)));
  for (double& v : values) v = normal(rng);
  if (dtype == DType::F64) return Tensor::from_vector(values, shape);
  std::vector<float> f(values.begin(), values.end());
  return Tensor::from_vector(f, shape);
}

using Forward = std::function<Tensor(const std::vector<Tensor>&)>;
using Backward = std::function<std::vector<Tensor>(const std::vector<Tensor>&, const Tensor&)>;

// Checks every element of every input (inputs are small). Returns the worst
// closeness; records a failure naming the input when it exceeds 1.
inline void gradcheck(const char* what, std::vector<Tensor> inputs, const Forward& forward, const Backward& backward,
                      uint32_t seed = 7, double h = 1e-6, double atol = 1e-7, double rtol = 1e-5) {
  std::mt19937 rng(seed);
  Tensor y = forward(inputs);
  Tensor dy = random_tensor(y.shape(), rng);
  std::vector<Tensor> grads = backward(inputs, dy);
  auto loss = [&](const std::vector<Tensor>& in) {
    Tensor out = forward(in);
    double sum = 0;
    for (int64_t i = 0; i < out.numel(); ++i) sum += out.data<double>()[i] * dy.data<double>()[i];
    return sum;
  };
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (k >= grads.size() || !grads[k].defined()) continue;
    Tensor numeric = Tensor::empty(inputs[k].shape(), DType::F64);
    for (int64_t i = 0; i < inputs[k].numel(); ++i) {
      double* x = inputs[k].data<double>() + i;
      double saved = *x;
      *x = saved + h;
      double up = loss(inputs);
      *x = saved - h;
      double down = loss(inputs);
      *x = saved;
      numeric.data<double>()[i] = (up - down) / (2 * h);
    }
    double c = closeness(grads[k], numeric, atol, rtol);
    if (!(c <= 1.0)) fail(__FILE__, __LINE__, concat(what, ": gradient of input ", k, " off by ", c, "× the tolerance"));
  }
}

}  // namespace dmdlk::test
