// Finite-difference gradient checks in double precision. For an op
// y = f(inputs) and a random upstream gradient dy, the scalar
// L = Σ dy ⊙ f(inputs) has ∂L/∂input = the op's backward(inputs, dy); each
// checked element is compared with (L(x + h) − L(x − h)) / 2h.
#pragma once
#include <algorithm>
#include <functional>
#include <limits>
#include <numeric>
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

// The elements of an input of n that the check perturbs: all of them when
// there are at most `most`, otherwise `most` drawn without repeats (each
// costs two forward passes, and every element's gradient is computed by the
// same code, so a sample finds a wrong formula as surely as all of them).
inline std::vector<int64_t> checked_elements(int64_t n, int64_t most, std::mt19937& rng) {
  std::vector<int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), 0);
  if (n <= most) return all;
  std::shuffle(all.begin(), all.end(), rng);
  all.resize(static_cast<size_t>(most));
  return all;
}

// Records a failure naming the input whose gradient is off by more than the
// tolerance at any checked element. Inputs without a gradient (an undefined
// tensor from backward, or none) are skipped.
inline void gradcheck(const std::string& what, std::vector<Tensor> inputs, const Forward& forward,
                      const Backward& backward, uint32_t seed = 7, int64_t most_elements = 48, double h = 1e-6,
                      double atol = 1e-7, double rtol = 1e-5) {
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
  // L's own rounding, divided by 2h, is noise in every difference quotient:
  // with thousands of outputs it exceeds atol, so it widens the tolerance.
  double magnitude = 0;
  for (int64_t i = 0; i < y.numel(); ++i) magnitude += std::fabs(y.data<double>()[i] * dy.data<double>()[i]);
  double noise = 4 * std::numeric_limits<double>::epsilon() * magnitude / h;
  for (size_t k = 0; k < inputs.size(); ++k) {
    if (k >= grads.size() || !grads[k].defined()) continue;
    double worst = 0;
    for (int64_t i : checked_elements(inputs[k].numel(), most_elements, rng)) {
      double* x = inputs[k].data<double>() + i;
      double saved = *x;
      *x = saved + h;
      double up = loss(inputs);
      *x = saved - h;
      double down = loss(inputs);
      *x = saved;
      double numeric = (up - down) / (2 * h), analytic = grads[k].data<double>()[i];
      double ratio = std::fabs(analytic - numeric) / (atol + noise + rtol * std::fabs(numeric));
      if (!(ratio <= worst)) worst = std::isnan(ratio) ? INFINITY : ratio;
    }
    if (!(worst <= 1.0))
      fail(__FILE__, __LINE__, concat(what, ": gradient of input ", k, " off by ", worst, "× the tolerance"));
  }
}

}  // namespace dmdlk::test
