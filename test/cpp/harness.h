// A minimal test runner for the core's CTest binaries: TEST(name) registers a
// case, CHECK* records failures without stopping the case, and run_all()
// prints "N passed, M failed" and returns the exit code.
#pragma once
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "core/error.h"
#include "core/tensor.h"

namespace dmdlk::test {

struct Case {
  const char* name;
  std::function<void()> body;
};

// A new empty folder under the system's temporary folder (any platform).
inline std::string temp_dir(const std::string& prefix = "dmdlk-test-") {
  std::random_device seed;
  std::mt19937_64 rng(seed());
  for (;;) {
    std::filesystem::path dir = std::filesystem::temp_directory_path() / (prefix + std::to_string(rng() % 1000000000));
    if (std::filesystem::create_directory(dir)) return dir.generic_string();
  }
}

inline std::vector<Case>& cases() {
  static std::vector<Case> all;
  return all;
}
inline int& failures() {
  static int count = 0;
  return count;
}
// While set, failures are counted but reported as expected (for tests of the harness itself).
inline bool& expecting_failures() {
  static bool on = false;
  return on;
}

struct Register {
  Register(const char* name, std::function<void()> body) { cases().push_back({name, std::move(body)}); }
};

inline void fail(const char* file, int line, const std::string& what) {
  ++failures();
  std::printf("    %s %s:%d: %s\n", expecting_failures() ? "(expected failure)" : "FAIL", file, line, what.c_str());
}

inline int run_all() {
  int passed = 0, failed = 0;
  for (const Case& c : cases()) {
    int before = failures();
    try {
      c.body();
    } catch (const Error& e) {
      fail(__FILE__, __LINE__, concat("unexpected ", code_name(e.code()), ": ", e.what()));
    } catch (const std::exception& e) { fail(__FILE__, __LINE__, concat("unexpected exception: ", e.what())); }
    bool ok = failures() == before;
    std::printf("%s %s\n", ok ? "ok  " : "FAIL", c.name);
    (ok ? passed : failed)++;
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}

// Max |a - b| / (atol + rtol·|b|) over all elements: <= 1 means close.
// Tensors of different shapes (an empty one against any other too) are
// infinitely far apart.
inline double closeness(const Tensor& a, const Tensor& b, double atol, double rtol) {
  if (!a.defined() || !b.defined() || a.shape() != b.shape()) return INFINITY;
  Tensor ad = a.device().is_cpu() ? a : a.to(Device::cpu());
  Tensor bd = b.device().is_cpu() ? b : b.to(Device::cpu());
  auto read = [](const Tensor& t, int64_t i) {
    return t.dtype() == DType::F64 ? t.data<double>()[i] : double(t.data<float>()[i]);
  };
  double worst = 0;
  for (int64_t i = 0; i < ad.numel(); ++i) {
    double x = read(ad, i), y = read(bd, i);
    double ratio = std::fabs(x - y) / (atol + rtol * std::fabs(y));
    if (!(ratio <= worst)) worst = std::isnan(ratio) ? INFINITY : ratio;
  }
  return worst;
}

}  // namespace dmdlk::test

#define TEST_CONCAT2(a, b) a##b
#define TEST_CONCAT(a, b) TEST_CONCAT2(a, b)
#define TEST(name)                                                          \
  static void name();                                                       \
  static ::dmdlk::test::Register TEST_CONCAT(register_, name)(#name, name); \
  static void name()

#define CHECK(cond)                                              \
  do {                                                           \
    if (!(cond)) ::dmdlk::test::fail(__FILE__, __LINE__, #cond); \
  } while (0)

#define CHECK_EQ(a, b)                                                                                                \
  do {                                                                                                                \
    auto va_ = (a);                                                                                                   \
    auto vb_ = (b);                                                                                                   \
    if (!(va_ == vb_)) ::dmdlk::test::fail(__FILE__, __LINE__, ::dmdlk::concat(#a " == " #b ": ", va_, " vs ", vb_)); \
  } while (0)

// Expects `expr` to throw dmdlk::Error with `code` and a message containing `fragment`.
#define CHECK_THROWS(expr, expected_code, fragment)                                                            \
  do {                                                                                                         \
    try {                                                                                                      \
      (void)(expr);                                                                                            \
      ::dmdlk::test::fail(__FILE__, __LINE__, "no error from " #expr);                                         \
    } catch (const ::dmdlk::Error& e_) {                                                                       \
      if (e_.code() != (expected_code) || std::string(e_.what()).find(fragment) == std::string::npos)          \
        ::dmdlk::test::fail(__FILE__, __LINE__,                                                                \
                            ::dmdlk::concat(#expr " threw ", ::dmdlk::code_name(e_.code()), ": ", e_.what())); \
    }                                                                                                          \
  } while (0)

#define CHECK_CLOSE(a, b, atol, rtol)                                                                            \
  do {                                                                                                           \
    double c_ = ::dmdlk::test::closeness((a), (b), (atol), (rtol));                                              \
    if (!(c_ <= 1.0))                                                                                            \
      ::dmdlk::test::fail(__FILE__, __LINE__, ::dmdlk::concat(#a " vs " #b ": off by ", c_, "× the tolerance")); \
  } while (0)
