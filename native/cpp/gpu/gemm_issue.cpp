// The tiled GEMMs' issue counts (gemm_issue_table.h) looked up for a planned
// product. Host code: the plans are made, and tested, without nvcc.
#include <cstring>

#include "gpu/gemm.h"
#include "gpu/gemm_issue_table.h"

namespace dmdlk::cuda_ops {

int gemm_issue_per_step(const GemmTiling& t, const std::string& what) {
  // The operands each product passes the kernel (conv2d.cu; every other
  // product, dense and attention alike, passes DenseA and DenseB).
  const char* a = "DenseA";
  const char* b = "DenseB";
  if (what == "conv_forward") b = "ConvColumns";
  else if (what == "conv_input_grad") a = "WeightT", b = "OutputTaps";
  else if (what == "conv_weight_grad") a = "OutputRows", b = "ConvColumnsT";
  for (const GemmIssue& e : kGemmIssue)
    if (e.kernel == t.kernel && e.unit == t.unit && std::strcmp(e.a, a) == 0 && std::strcmp(e.b, b) == 0)
      return e.per_step;
  return 0;
}

}  // namespace dmdlk::cuda_ops
