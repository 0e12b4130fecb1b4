// How CUDA's float32 matrix products may round their inputs, after PyTorch's
// torch.set_float32_matmul_precision:
//   highest  float32 FMA on the CUDA cores (the reference);
//   high     TF32 tensor cores: inputs rounded to 10 mantissa bits, float32
//            accumulation and storage (the default, as PyTorch's convolutions);
//   medium   BF16 tensor cores: inputs rounded to 7 mantissa bits, float32
//            accumulation and storage; weights, gradients and Adam's state stay
//            float32 (the master copies).
// Applies to the GEMMs of convolutions, linear layers and matmul on GPUs of
// compute capability 8.0 or newer; older GPUs, float64 and the CPU always
// compute in full precision. Process-wide, as PyTorch's (the environment
// variable DMDLK_MATMUL_PRECISION sets the starting value), unless the thread
// has its own: a model with a precision of its own runs its work on its
// thread under it (ThreadMatmulPrecision), whatever other models use.
#pragma once
#include <optional>
#include <string>

namespace dmdlk {

enum class MatmulPrecision { Highest, High, Medium };

// The calling thread's precision if it has one, else the process's.
MatmulPrecision matmul_precision();
void set_matmul_precision(MatmulPrecision precision);

// The calling thread's own precision for as long as this lives (none: the process's).
class ThreadMatmulPrecision {
 public:
  explicit ThreadMatmulPrecision(std::optional<MatmulPrecision> precision);
  ~ThreadMatmulPrecision();
  ThreadMatmulPrecision(const ThreadMatmulPrecision&) = delete;
  ThreadMatmulPrecision& operator=(const ThreadMatmulPrecision&) = delete;

 private:
  std::optional<MatmulPrecision> previous_;
};

// "highest" | "high" | "medium"; anything else throws ERR_INVALID_ARG.
MatmulPrecision parse_matmul_precision(const std::string& name);
const char* matmul_precision_name(MatmulPrecision precision);

}  // namespace dmdlk
