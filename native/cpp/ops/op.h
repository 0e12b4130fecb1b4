// The op registry: one OpDef per op of the network's graph, defined beside the
// op's code (ops/<family>.cpp) and listed once in ops/registry.cpp. A graph
// node holds an OpKind, its attributes and a label; the executor, autodiff,
// the summary, the profile, the test cases and the GPU launch plans all reach
// the op through its OpDef, never through a name parsed back from a string.
#pragma once
#include <cstdint>
#include <variant>
#include <vector>

#include "core/tensor.h"
#include "gpu/launch_plan.h"
#include "ops/activation.h"
#include "ops/conv2d.h"
#include "ops/deform_conv2d.h"
#include "ops/normalization.h"

namespace dmdlk {

using Tensors = std::vector<Tensor>;

// One line per op family, beside its file (clang-format would give each its own).
// clang-format off
enum class OpKind : uint8_t {
  Add, Mul,                                   // ops/binary.cpp
  Matmul, Linear,                             // ops/matmul.cpp
  Conv2d,                                     // ops/conv2d.cpp
  DeformConv2d,                               // ops/deform_conv2d.cpp
  Activation,                                 // ops/activation.cpp
  Softmax,                                    // ops/softmax.cpp
  BatchNorm, LayerNorm,                       // ops/normalization.cpp
  Attention,                                  // ops/attention.cpp
  AvgPool2d, MaxPool2d, GlobalAvgPool,        // ops/pooling.cpp
  ChannelMean, ChannelMax, ChannelPool,       // ops/pooling.cpp
  Upsample2x,                                 // ops/upsample.cpp
  Concat, Slice, Reshape,                     // ops/layout.cpp
  WindowPartition, WindowMerge,               // ops/layout.cpp
  CrossEntropy, DiceLoss,                     // ops/losses.cpp
  Count
};
// clang-format on

// ---- attributes: what an op needs besides its input tensors --------------------
// Each type's visit_attrs declares its attributes once (ops/attr_schema.h):
// their JSON names, kinds and ranges, for the reader, the writer and the schema.
inline constexpr int64_t kMaxAttr = 2147483647;  // INT32_MAX

struct NoAttrs {};
template <class V>
void visit_attrs(NoAttrs&, V&) {}

struct PoolAttrs {
  int64_t kernel = 2, stride = 2, pad = 0;
};
template <class V>
void visit_attrs(PoolAttrs& a, V& v) {
  v.integer("kernel", a.kernel, 1, kMaxAttr);
  v.integer("stride", a.stride, 1, kMaxAttr);
  v.integer("padding", a.pad, 0, kMaxAttr);
}

struct BatchNormAttrs {
  bool training = true;  // batch statistics, running statistics updated in place
  // Applied to the normalised values in the same pass: y = activation(BatchNorm(x)).
  // The backward recomputes the pre-activation from x and the statistics, so
  // neither it nor a separate activation's launches exist.
  Activation activation = Activation::Identity;
};
template <class V>
void visit_attrs(BatchNormAttrs& a, V& v) {
  v.boolean("training", a.training);
  v.choice("activation", a.activation, kActivationNames);
}

struct AttentionAttrs {
  int64_t window_h = 1, window_w = 1, heads = 1;
  double scale = 1;
};
template <class V>
void visit_attrs(AttentionAttrs& a, V& v) {
  v.pair("window", a.window_h, a.window_w, 1, kMaxAttr);
  v.integer("heads", a.heads, 1, kMaxAttr);
  v.number("scale", a.scale);
}

struct SliceAttrs {
  int64_t begin = 0, end = 0;  // channels [begin, end)
};
template <class V>
void visit_attrs(SliceAttrs& a, V& v) {
  v.integer("begin", a.begin, 0, kMaxAttr);
  v.integer("end", a.end, 0, kMaxAttr);
}

struct ReshapeAttrs {
  Shape shape;
};
template <class V>
void visit_attrs(ReshapeAttrs& a, V& v) {
  v.shape("shape", a.shape, true);
}

struct WindowAttrs {  // window partition
  int64_t window_h = 1, window_w = 1;
};
template <class V>
void visit_attrs(WindowAttrs& a, V& v) {
  v.pair("window", a.window_h, a.window_w, 1, kMaxAttr);
}

struct WindowMergeAttrs {
  int64_t window_h = 1, window_w = 1;
  Shape image;            // the [N, C, H, W] the tokens go back to
  bool residual = false;  // a second input, of the image's shape, added in the same pass
};
template <class V>
void visit_attrs(WindowMergeAttrs& a, V& v) {
  v.pair("window", a.window_h, a.window_w, 1, kMaxAttr);
  v.shape("image", a.image, true);
  v.boolean("residual", a.residual);
}

struct DeformConv2dAttrs {
  DeformConv2dOptions options;
  bool mask = false, bias = false;  // inputs: x, offset, weight, [mask], [bias]
};
template <class V>
void visit_attrs(DeformConv2dAttrs& a, V& v) {
  visit_convolution_attrs(a.options, v);
  v.boolean("mask", a.mask);
  v.boolean("bias", a.bias);
}

template <class V>
void visit_attrs(Activation& a, V& v) {
  v.choice("kind", a, kActivationNames);
}
template <class V>
void visit_attrs(LayerNormAxis& a, V& v) {
  v.choice("axis", a, kLayerNormAxisNames);
}
template <class V>
void visit_attrs(Conv2dOptions& o, V& v) {
  visit_convolution_attrs(o, v);
  v.boolean("residual", o.residual);
}

using OpAttrs = std::variant<NoAttrs, PoolAttrs, BatchNormAttrs, AttentionAttrs, SliceAttrs, ReshapeAttrs, WindowAttrs,
                             WindowMergeAttrs, Activation, LayerNormAxis, Conv2dOptions, DeformConv2dAttrs>;

// What one forward pass of the op costs: multiply-accumulates of its matrix
// work (convolutions, products, attention), and the bytes of its inputs and
// outputs.
struct OpCost {
  double macs = 0;
  double bytes = 0;
};

enum class Pass { Forward, Backward };

// Which inputs' gradients a backward pass must compute (bit i: input i). The
// graph asks for none of its data inputs' (the images: nothing upstream to
// reach), so the stem's convolution skips its input gradient. An op may
// compute more than it is asked for; the graph drops what it did not ask for.
//
// `into` holds, for an input that feeds several ops, the gradient it has
// received so far, where nothing else holds that tensor: an op that can adds
// its own gradient into it, in place, and returns it (OpDef::adds_into says
// which do); otherwise the graph adds the two, one more launch and tensor.
struct WantedGrads {
  uint32_t bits = ~0u;
  const Tensors* into = nullptr;
  // In a step's launch plan, where no tensors exist: bit i, input i's
  // gradient would be added into one the graph holds (nn/step_plan.cpp).
  uint32_t into_planned = 0;
  bool operator[](size_t input) const { return input >= 32 || (bits >> input & 1u); }
  Tensor accumulate_into(size_t input) const { return into && input < into->size() ? (*into)[input] : Tensor(); }
  // Whether input i's gradient goes into one the graph holds (given, or planned).
  bool adds_into(size_t input) const {
    return accumulate_into(input).defined() || (input < 32 && (into_planned >> input & 1u));
  }
};

struct OpDef {
  OpKind kind;
  const char* name;
  // Its attributes at their defaults: which type they are (ops/attr_schema.h
  // reads and writes them by that type's visit_attrs).
  OpAttrs (*defaults)();
  // The shapes of the outputs (the first is the op's result; others, such as
  // a norm's statistics, feed its backward). Throws ERR_SHAPE as the op would.
  std::vector<Shape> (*infer_shape)(const std::vector<Shape>& in, const OpAttrs& attrs);
  Tensors (*forward)(const Tensors& in, const OpAttrs& attrs);
  // The gradient of each input (undefined where it has none) from the inputs,
  // the outputs and the gradients of the outputs (undefined where none); at
  // least those `wanted` asks for.
  Tensors (*backward)(const Tensors& in, const Tensors& out, const Tensors& dout, const OpAttrs& attrs,
                      WantedGrads wanted);
  OpCost (*cost)(const std::vector<Shape>& in, const OpAttrs& attrs);
  // The CUDA launches one pass makes for these shapes (their plans: geometry,
  // bytes, flops), computed on the host: see native/cpp/gpu/launch_plan.h.
  std::vector<cuda::LaunchPlan> (*cuda_launches)(const std::vector<Shape>& in, DType dtype, const OpAttrs& attrs,
                                                 Pass pass, WantedGrads wanted);
  // How the backward's gradients relate to tensors the graph holds, for the
  // launch plan of a step (nn/step_plan.cpp) to count the graph's additions
  // as run_backward makes them. Null: never.
  //   adds_into:        on CUDA, input i's gradient is added into WantedGrads::accumulate_into(i) when given;
  //   passes_gradient:  input i's gradient is the output's gradient itself (shared, not copied).
  bool (*adds_into)(const std::vector<Shape>& in, const OpAttrs& attrs, size_t input) = nullptr;
  bool (*passes_gradient)(const std::vector<Shape>& in, const OpAttrs& attrs, size_t input) = nullptr;
};

const OpDef& op_def(OpKind kind);
// The op of that name (an OpDef's name); throws ERR_INVALID_ARG for none.
const OpDef& op_def(const std::string& name);

// The defaults of the ops without attributes.
inline OpAttrs no_attrs() { return NoAttrs{}; }

// The bytes of a set of shapes in `dtype` (OpDefs' costs are written with it).
double shapes_bytes(const std::vector<Shape>& shapes, DType dtype = DType::F32);

}  // namespace dmdlk
