// Double-precision finite-difference checks of every op's backward.
#include "gradcheck.h"
#include "ops/binary.h"
#include "ops/conv2d.h"
#include "ops/matmul.h"

using namespace dmdlk;
using namespace dmdlk::test;

TEST(add_broadcast_gradients) {
  std::mt19937 rng(1);
  for (auto shapes : std::vector<std::pair<Shape, Shape>>{{{2, 3, 4}, {2, 3, 4}}, {{2, 3, 4}, {3, 1}}, {{5}, {2, 1, 5}}}) {
    gradcheck("add", {random_tensor(shapes.first, rng), random_tensor(shapes.second, rng)},
              [](auto& in) { return add(in[0], in[1]); },
              [](auto& in, auto& dy) { auto g = add_backward(dy, in[0], in[1]); return std::vector<Tensor>{g.da, g.db}; });
  }
}

TEST(mul_broadcast_gradients) {
  std::mt19937 rng(2);
  for (auto shapes : std::vector<std::pair<Shape, Shape>>{{{2, 3, 4}, {2, 3, 4}}, {{4, 1, 3}, {2, 1}}, {{1, 3, 1}, {2, 1, 4}}}) {
    gradcheck("mul", {random_tensor(shapes.first, rng), random_tensor(shapes.second, rng)},
              [](auto& in) { return mul(in[0], in[1]); },
              [](auto& in, auto& dy) { auto g = mul_backward(dy, in[0], in[1]); return std::vector<Tensor>{g.da, g.db}; });
  }
}

TEST(matmul_gradients) {
  std::mt19937 rng(3);
  for (auto shapes : std::vector<std::pair<Shape, Shape>>{{{3, 5}, {5, 4}}, {{2, 3, 5}, {2, 5, 2}}, {{2, 2, 3, 4}, {4, 3}}, {{3, 4}, {2, 4, 5}}}) {
    gradcheck("matmul", {random_tensor(shapes.first, rng), random_tensor(shapes.second, rng)},
              [](auto& in) { return matmul(in[0], in[1]); },
              [](auto& in, auto& dy) { auto g = matmul_backward(dy, in[0], in[1]); return std::vector<Tensor>{g.da, g.db}; });
  }
}

TEST(linear_gradients) {
  std::mt19937 rng(4);
  gradcheck("linear+bias", {random_tensor({2, 3, 5}, rng), random_tensor({4, 5}, rng), random_tensor({4}, rng)},
            [](auto& in) { return linear(in[0], in[1], in[2]); },
            [](auto& in, auto& dy) { auto g = linear_backward(dy, in[0], in[1], true); return std::vector<Tensor>{g.dx, g.dweight, g.dbias}; });
  gradcheck("linear", {random_tensor({7, 3}, rng), random_tensor({2, 3}, rng)},
            [](auto& in) { return linear(in[0], in[1], Tensor()); },
            [](auto& in, auto& dy) { auto g = linear_backward(dy, in[0], in[1], false); return std::vector<Tensor>{g.dx, g.dweight}; });
}

TEST(conv2d_gradients) {
  std::mt19937 rng(5);
  struct Case { Shape x, w; Conv2dOptions o; };
  std::vector<Case> cases = {
      {{2, 3, 7, 6}, {4, 3, 3, 3}, {2, 2, 1, 1, 1, 1, 1}},   // strided, padded
      {{1, 4, 6, 7}, {4, 1, 3, 3}, {1, 1, 1, 1, 1, 1, 4}},   // depthwise
      {{2, 4, 8, 8}, {2, 2, 3, 3}, {1, 1, 2, 2, 2, 2, 2}},   // grouped, dilated
      {{1, 3, 5, 5}, {2, 3, 1, 1}, {}},                      // 1×1: x used as columns directly
      {{1, 2, 9, 8}, {3, 2, 3, 2}, {2, 1, 1, 0, 1, 2, 1}},   // non-square kernel, stride, dilation
  };
  for (const Case& c : cases) {
    Conv2dOptions o = c.o;
    gradcheck("conv2d", {random_tensor(c.x, rng), random_tensor(c.w, rng), random_tensor({c.w[0]}, rng)},
              [o](auto& in) { return conv2d(in[0], in[1], in[2], o); },
              [o](auto& in, auto& dy) { auto g = conv2d_backward(dy, in[0], in[1], true, o); return std::vector<Tensor>{g.dx, g.dweight, g.dbias}; });
  }
}

// The harness itself must be able to fail: a deliberately wrong backward is caught.
TEST(gradcheck_catches_a_wrong_backward) {
  std::mt19937 rng(6);
  int before = failures();
  expecting_failures() = true;
  gradcheck("mul with a wrong gradient", {random_tensor({3, 4}, rng), random_tensor({3, 4}, rng)},
            [](auto& in) { return mul(in[0], in[1]); },
            [](auto& in, auto& dy) { auto g = add_backward(dy, in[0], in[1]); return std::vector<Tensor>{g.da, g.db}; });
  expecting_failures() = false;
  bool caught = failures() > before;
  failures() = before;
  CHECK(caught);
}

int main() { return run_all(); }
