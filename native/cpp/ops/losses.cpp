#include "ops/losses.h"

#include <vector>

#include "core/thread_pool.h"
#include "gpu/losses.h"
#include "ops/backend.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace {

// logits [B, K, ...] against targets [B, ...] of class indices, from their shapes.
LossLayout loss_layout(const Shape& logits, const Shape& targets, const char* op) {
  DMDLK_CHECK(logits.size() >= 2, ErrorCode::Shape, op, ": logits must have rank >= 2 ([B, K, ...]), got ",
              shape_str(logits));
  Shape expected = logits;
  expected.erase(expected.begin() + 1);
  DMDLK_CHECK(targets == expected, ErrorCode::Shape, op, ": targets must have shape ", shape_str(expected), ", got ",
              shape_str(targets));
  int64_t plane = 1;
  for (size_t d = 2; d < logits.size(); ++d) plane *= logits[d];
  LossLayout l{logits[0], logits[1], IndexDivisor::of(plane)};
  DMDLK_CHECK(l.classes >= 1 && l.pixels() > 0, ErrorCode::Shape, op, ": logits ", shape_str(logits),
              " hold no pixels or no classes");
  return l;
}

LossLayout dice_layout(const Shape& logits, const Shape& targets, const char* op) {
  LossLayout l = loss_layout(logits, targets, op);
  DMDLK_CHECK(l.classes >= 2 && l.classes <= kMaxDiceClasses, ErrorCode::Shape, op, ": needs 2 to ", kMaxDiceClasses,
              " classes, logits have ", l.classes);
  return l;
}

void check_loss_operands(const Tensor& logits, const Tensor& targets, const char* op) {
  check_floating(logits, op, "logits");
  check_defined(targets, op, "targets");
  DMDLK_CHECK(targets.dtype() == DType::I32, ErrorCode::DType, op, ": targets must be int32 class indices, got ",
              dtype_name(targets.dtype()));
  DMDLK_CHECK(targets.device() == logits.device(), ErrorCode::Device, op, ": targets are on ", targets.device().str(),
              " but logits on ", logits.device().str());
}

LossLayout loss_layout(const Tensor& logits, const Tensor& targets, const char* op) {
  check_loss_operands(logits, targets, op);
  return loss_layout(logits.shape(), targets.shape(), op);
}

LossLayout dice_layout(const Tensor& logits, const Tensor& targets, const char* op) {
  check_loss_operands(logits, targets, op);
  return dice_layout(logits.shape(), targets.shape(), op);
}

// The CPU's kernels refuse targets that are no class index (CUDA's give NaN).
void check_targets(const LossLayout& l, const int32_t* t, const char* op) {
  for (int64_t i = 0; i < l.pixels(); ++i)
    DMDLK_CHECK(t[i] >= 0 && t[i] < l.classes, ErrorCode::InvalidArg, op, ": target ", t[i], " at pixel ", i,
                " is not a class index in [0, ", l.classes, ")");
}

void check_dloss(const Tensor& dloss, const Tensor& logits, const char* op) {
  check_compatible(dloss, logits, op, "dloss", "logits");
  check_shape(dloss, {}, op, "dloss");
}

// Σ over pixels of per-pixel values, in double, deterministic: fixed chunks
// summed in order.
template <typename F>
double cpu_sum(int64_t n, F value) {
  constexpr int64_t kChunk = 8192;
  std::vector<double> partial(size_t((n + kChunk - 1) / kChunk), 0.0);
  parallel_for(0, int64_t(partial.size()), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t c = lo; c < hi; ++c)
      for (int64_t i = c * kChunk; i < std::min(n, (c + 1) * kChunk); ++i) partial[size_t(c)] += value(i);
  });
  double sum = 0;
  for (double v : partial) sum += v;
  return sum;
}

// I_c and S_c of the Dice loss, for every class.
template <typename T>
void cpu_dice_sums(const LossLayout& l, const T* logits, const int32_t* targets, double* inter, double* total) {
  for (int64_t k = 0; k < l.classes; ++k) {
    inter[k] = cpu_sum(l.pixels(), [&](int64_t i) {
      T m, s;
      pixel_softmax_terms(l, logits, i, &m, &s);
      return targets[i] == k ? double(exp_value(logits[l.at(i, k)] - m) / s) : 0.0;
    });
    total[k] = 1 + cpu_sum(l.pixels(), [&](int64_t i) {
                 T m, s;
                 pixel_softmax_terms(l, logits, i, &m, &s);
                 return double(exp_value(logits[l.at(i, k)] - m) / s) + (targets[i] == k ? 1.0 : 0.0);
               });
  }
}

}  // namespace

namespace cpu_ops {

template <typename T>
void cross_entropy_forward(const LossLayout& l, const T* logits, const int32_t* targets, T* loss) {
  check_targets(l, targets, "cross_entropy");
  *loss = T(cpu_sum(l.pixels(), [&](int64_t i) { return double(pixel_nll(l, logits, targets, i)); }) / l.pixels());
}

template <typename T>
void cross_entropy_backward(const LossLayout& l, const T* logits, const int32_t* targets, const T* dloss, T* dlogits) {
  check_targets(l, targets, "cross_entropy_backward");
  T scale = *dloss / T(l.pixels());
  parallel_for(0, l.pixels(), 4096, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      T m, s;
      pixel_softmax_terms(l, logits, i, &m, &s);
      for (int64_t k = 0; k < l.classes; ++k)
        dlogits[l.at(i, k)] = scale * (exp_value(logits[l.at(i, k)] - m) / s - (targets[i] == k ? T(1) : T(0)));
    }
  });
}

template <typename T>
void dice_forward(const LossLayout& l, const T* logits, const int32_t* targets, T* loss) {
  check_targets(l, targets, "dice_loss");
  double inter[kMaxDiceClasses], total[kMaxDiceClasses], mean = 0;
  cpu_dice_sums(l, logits, targets, inter, total);
  for (int64_t k = 1; k < l.classes; ++k) mean += (2 * inter[k] + 1) / total[k];
  *loss = T(1 - mean / double(l.classes - 1));
}

template <typename T>
void dice_backward(const LossLayout& l, const T* logits, const int32_t* targets, const T* dloss, T* dlogits) {
  check_targets(l, targets, "dice_loss_backward");
  double inter[kMaxDiceClasses], total[kMaxDiceClasses];
  cpu_dice_sums(l, logits, targets, inter, total);
  double scale = double(*dloss) / double(l.classes - 1);
  parallel_for(0, l.pixels(), 4096, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) dice_pixel_grad(l, logits, targets, inter, total, scale, i, dlogits);
  });
}

}  // namespace cpu_ops

Tensor cross_entropy(const Tensor& logits, const Tensor& targets) {
  LossLayout l = loss_layout(logits, targets, "cross_entropy");
  Tensor loss = Tensor::empty({}, logits.dtype(), logits.device());
  dispatch_floating(logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(logits.device(), cross_entropy_forward, l, logits.data<T>(), targets.data<int32_t>(),
                    loss.data<T>());
  });
  return loss;
}

Tensor cross_entropy_backward(const Tensor& logits, const Tensor& targets, const Tensor& dloss) {
  LossLayout l = loss_layout(logits, targets, "cross_entropy_backward");
  check_dloss(dloss, logits, "cross_entropy_backward");
  Tensor dlogits = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  dispatch_floating(logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(logits.device(), cross_entropy_backward, l, logits.data<T>(), targets.data<int32_t>(),
                    dloss.data<T>(), dlogits.data<T>());
  });
  return dlogits;
}

Tensor dice_loss(const Tensor& logits, const Tensor& targets) {
  LossLayout l = dice_layout(logits, targets, "dice_loss");
  Tensor loss = Tensor::empty({}, logits.dtype(), logits.device());
  dispatch_floating(logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(logits.device(), dice_forward, l, logits.data<T>(), targets.data<int32_t>(), loss.data<T>());
  });
  return loss;
}

Tensor dice_loss_backward(const Tensor& logits, const Tensor& targets, const Tensor& dloss) {
  LossLayout l = dice_layout(logits, targets, "dice_loss_backward");
  check_dloss(dloss, logits, "dice_loss_backward");
  Tensor dlogits = Tensor::empty(logits.shape(), logits.dtype(), logits.device());
  dispatch_floating(logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(logits.device(), dice_backward, l, logits.data<T>(), targets.data<int32_t>(), dloss.data<T>(),
                    dlogits.data<T>());
  });
  return dlogits;
}

// ---- the graph's losses: inputs logits [B, K, ...] and targets [B, ...] (int32
// class indices); output the scalar loss, whose gradient reaches the logits ------
extern const OpDef cross_entropy_op{
    OpKind::CrossEntropy,
    "cross_entropy",
    no_attrs,
    [](const std::vector<Shape>& in, const OpAttrs&) {
      loss_layout(in[0], in[1], "cross_entropy");
      return std::vector<Shape>{{}};
    },
    [](const Tensors& in, const OpAttrs&) { return Tensors{cross_entropy(in[0], in[1])}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&, WantedGrads) {
      return Tensors{cross_entropy_backward(in[0], in[1], d[0]), Tensor()};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      return OpCost{0, shapes_bytes(in)};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass pass, WantedGrads) {
      LossLayout l = loss_layout(in[0], in[1], "cross_entropy");
      int64_t bytes = int64_t(dtype_size(t));
      if (pass == Pass::Forward) return cuda_ops::plan_cross_entropy_forward(l, bytes);
      return std::vector<cuda::LaunchPlan>{cuda_ops::plan_cross_entropy_backward(l, bytes)};
    },
};

// Soft Dice over the classes after the first (background), averaged.
extern const OpDef dice_loss_op{
    OpKind::DiceLoss,
    "dice_loss",
    no_attrs,
    [](const std::vector<Shape>& in, const OpAttrs&) {
      dice_layout(in[0], in[1], "dice_loss");
      return std::vector<Shape>{{}};
    },
    [](const Tensors& in, const OpAttrs&) { return Tensors{dice_loss(in[0], in[1])}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&, WantedGrads) {
      return Tensors{dice_loss_backward(in[0], in[1], d[0]), Tensor()};
    },
    [](const std::vector<Shape>& in, const OpAttrs&) {
      return OpCost{0, 2 * shapes_bytes(in)};
    },
    [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass pass, WantedGrads) {
      LossLayout l = dice_layout(in[0], in[1], "dice_loss");
      int64_t bytes = int64_t(dtype_size(t));
      std::vector<cuda::LaunchPlan> plans = cuda_ops::plan_dice_sums(l, bytes);
      plans.push_back(pass == Pass::Forward ? cuda_ops::plan_dice_loss(l) : cuda_ops::plan_dice_backward(l, bytes));
      return plans;
    },
};

}  // namespace dmdlk
