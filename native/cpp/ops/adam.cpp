#include "ops/adam.h"

#include <cmath>

#include "core/thread_pool.h"
#include "gpu/adam.h"
#include "ops/backend.h"
#include "ops/op_checks.h"
#include "ops/tensor_list.h"

namespace dmdlk {

namespace cpu_ops {

template <typename T>
void adam_step(int64_t n, T* p, const T* g, T* m, T* v, double lr_corrected, double sqrt_bc2, const AdamOptions& o) {
  parallel_for(0, n, 16384, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) adam_update(p[i], g[i], m[i], v[i], lr_corrected, sqrt_bc2, o);
  });
}

template <typename T>
void count_nonfinite(int64_t n, const T* x, int32_t* counter) {
  int64_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad += !std::isfinite(x[i]);
  *counter += int32_t(std::min<int64_t>(bad, INT32_MAX - *counter));
}

template <typename T>
void adam_step_all(const std::vector<TensorList<T, 4>>& lists, double lr_corrected, double sqrt_bc2,
                   const AdamOptions& o) {
  for (const TensorList<T, 4>& l : lists)
    for (int t = 0; t < l.count; ++t)
      adam_step(l.size[t], l.data[0][t], l.data[1][t], l.data[2][t], l.data[3][t], lr_corrected, sqrt_bc2, o);
}

template <typename T>
void count_nonfinite_all(const std::vector<TensorList<const T, 1>>& lists, int32_t* counter) {
  for (const TensorList<const T, 1>& l : lists)
    for (int t = 0; t < l.count; ++t) count_nonfinite(l.size[t], l.data[0][t], counter);
}

}  // namespace cpu_ops

namespace {

void check_adam_options(const AdamOptions& o, const char* op) {
  DMDLK_CHECK(o.step >= 1, ErrorCode::InvalidArg, op, ": step must be >= 1, got ", o.step);
  DMDLK_CHECK(
      o.lr >= 0 && o.eps > 0 && o.beta1 >= 0 && o.beta1 < 1 && o.beta2 >= 0 && o.beta2 < 1 && o.weight_decay >= 0,
      ErrorCode::InvalidArg, op, ": needs lr >= 0, eps > 0, betas in [0, 1) and weight_decay >= 0");
}

void check_slot(const Tensor& params, const Tensor& grads, const Tensor& m, const Tensor& v, const char* op) {
  check_floating(params, op, "params");
  for (auto [t, name] : {std::pair{&grads, "grads"}, {&m, "m"}, {&v, "v"}}) {
    check_compatible(*t, params, op, name, "params");
    check_shape(*t, params.shape(), op, name);
  }
}

// Adam's bias corrections of step o.step: lr / (1 − β1^t) and √(1 − β2^t).
std::pair<double, double> corrections(const AdamOptions& o) {
  return {o.lr / (1 - std::pow(o.beta1, double(o.step))), std::sqrt(1 - std::pow(o.beta2, double(o.step)))};
}

}  // namespace

void adam_step(Tensor& params, const Tensor& grads, Tensor& m, Tensor& v, const AdamOptions& o) {
  const char* op = "adam_step";
  check_slot(params, grads, m, v, op);
  check_adam_options(o, op);
  adam_step_all({AdamSlot{params, grads, m, v}}, o);  // one kernel for both: on CUDA a list of one tensor
}

// A list of one: the list kernel serves both (one kernel less in the binary).
void count_nonfinite(const Tensor& t, Tensor& counter) {
  check_floating(t, "count_nonfinite", "t");
  DMDLK_CHECK(counter.dtype() == DType::I32 && counter.numel() == 1 && counter.device() == t.device(),
              ErrorCode::InvalidArg, "count_nonfinite: counter must be int32 [1] on t's device");
  count_nonfinite_all({t}, counter);
}

void adam_step_all(const std::vector<AdamSlot>& slots, const AdamOptions& o) {
  const char* op = "adam_step_all";
  check_adam_options(o, op);
  if (slots.empty()) return;
  for (const AdamSlot& s : slots) {
    check_slot(s.params, s.grads, s.m, s.v, op);
    check_compatible(s.params, slots[0].params, op, "params", "the first slot's params");
  }
  auto [lr_corrected, sqrt_bc2] = corrections(o);
  const Device device = slots[0].params.device();
  dispatch_floating(slots[0].params.dtype(), [&](auto zero) {
    using T = decltype(zero);
    std::vector<std::vector<T*>> arrays;
    std::vector<int64_t> sizes;
    for (const AdamSlot& s : slots) {
      // The gradients are read only; the list holds one pointer type.
      arrays.push_back({s.params.data<T>(), const_cast<T*>(s.grads.data<T>()), s.m.data<T>(), s.v.data<T>()});
      sizes.push_back(s.params.numel());
    }
    std::vector<TensorList<T, 4>> lists =
        tensor_lists<T, 4>(arrays, sizes, cuda_ops::kListChunk, cuda_ops::kListThreads, cuda_ops::kListFillBlocks);
    DMDLK_ON_DEVICE(device, adam_step_all, lists, lr_corrected, sqrt_bc2, o);
  });
}

void count_nonfinite_all(const std::vector<Tensor>& tensors, Tensor& counter) {
  if (tensors.empty()) return;
  for (const Tensor& t : tensors) {
    check_floating(t, "count_nonfinite_all", "a tensor");
    check_compatible(t, tensors[0], "count_nonfinite_all", "a tensor", "the first");
  }
  DMDLK_CHECK(counter.dtype() == DType::I32 && counter.numel() == 1 && counter.device() == tensors[0].device(),
              ErrorCode::InvalidArg, "count_nonfinite_all: counter must be int32 [1] on the tensors' device");
  dispatch_floating(tensors[0].dtype(), [&](auto zero) {
    using T = decltype(zero);
    std::vector<std::vector<const T*>> arrays;
    std::vector<int64_t> sizes;
    for (const Tensor& t : tensors) arrays.push_back({t.data<T>()}), sizes.push_back(t.numel());
    std::vector<TensorList<const T, 1>> lists = tensor_lists<const T, 1>(
        arrays, sizes, cuda_ops::kListChunk, cuda_ops::kListThreads, cuda_ops::kListFillBlocks);
    DMDLK_ON_DEVICE(tensors[0].device(), count_nonfinite_all, lists, counter.data<int32_t>());
  });
}

}  // namespace dmdlk
