#include "ops/layout.h"

#include <cstring>

#include "core/thread_pool.h"
#include "gpu/layout.h"
#include "gpu/tensor_lists.h"
#include "ops/backend.h"
#include "ops/op.h"
#include "ops/op_checks.h"

namespace dmdlk {

namespace cpu_ops {

// A row of the output (all axes but the last) finds its input offset once,
// then reads its elements a fixed stride apart.
template <typename T>
void permute(const PermutePlan& plan, int64_t n, const T* x, const T* addend, T* y) {
  int64_t row_length = plan.out_size[plan.rank - 1].d, step = plan.in_stride[plan.rank - 1];
  parallel_for(0, n / std::max<int64_t>(1, row_length), std::max<int64_t>(1, 16384 / std::max<int64_t>(1, row_length)),
               [&](int64_t lo, int64_t hi) {
                 for (int64_t r = lo; r < hi; ++r) {
                   const T* in = x + permuted_offset(plan, r * row_length);
                   T* out = y + r * row_length;
                   if (!addend)
                     for (int64_t j = 0; j < row_length; ++j) out[j] = in[j * step];
                   else
                     for (int64_t j = 0; j < row_length; ++j) out[j] = in[j * step] + addend[r * row_length + j];
                 }
               });
}

void zero_bytes_all(const std::vector<TensorList<uint8_t, 1>>& lists) {
  for (const TensorList<uint8_t, 1>& l : lists)
    for (int t = 0; t < l.count; ++t) std::memset(l.data[0][t], 0, size_t(l.size[t]));
}

template <typename Element>
void add_elements(uint8_t* to, const uint8_t* from, int64_t bytes) {
  Element* out = reinterpret_cast<Element*>(to);
  const Element* in = reinterpret_cast<const Element*>(from);
  for (int64_t i = 0; i < bytes / int64_t(sizeof(Element)); ++i) out[i] += in[i];
}

// The lists' runs in parallel (a concat's parts, batch item by batch item);
// flagged runs added as float (f64: double) elements.
void copy_bytes_all(const std::vector<TensorList<uint8_t, 2>>& lists, bool f64) {
  std::vector<std::pair<int, int>> runs;  // (list, tensor)
  for (size_t i = 0; i < lists.size(); ++i)
    for (int t = 0; t < lists[i].count; ++t) runs.push_back({int(i), t});
  parallel_for(0, int64_t(runs.size()), 1, [&](int64_t lo, int64_t hi) {
    for (int64_t r = lo; r < hi; ++r) {
      const TensorList<uint8_t, 2>& l = lists[size_t(runs[size_t(r)].first)];
      const int t = runs[size_t(r)].second;
      if (!l.flagged(t)) std::memcpy(l.data[0][t], l.data[1][t], size_t(l.size[t]));
      else if (f64) add_elements<double>(l.data[0][t], l.data[1][t], l.size[t]);
      else add_elements<float>(l.data[0][t], l.data[1][t], l.size[t]);
    }
  });
}

}  // namespace cpu_ops

namespace {

// Byte runs (destination, source) of one device copied, or, where `added`
// says so, added as elements of `dtype`: on CUDA a launch per 128 runs.
void copy_runs(const Device& device, const std::vector<std::vector<uint8_t*>>& runs, const std::vector<int64_t>& bytes,
               const std::vector<bool>& added = {}, DType dtype = DType::F32) {
  if (runs.empty()) return;
  std::vector<TensorList<uint8_t, 2>> lists = tensor_lists<uint8_t, 2>(
      runs, bytes, cuda_ops::kCopyChunkBytes, cuda_ops::kCopyStepBytes, cuda_ops::kListFillBlocks, added);
  DMDLK_ON_DEVICE(device, copy_bytes_all, lists, dtype == DType::F64);
}

}  // namespace

std::vector<Tensor> zeros_all(const std::vector<Shape>& shapes, DType dtype, Device device) {
  std::vector<Tensor> zeros;
  std::vector<std::vector<uint8_t*>> runs;
  std::vector<int64_t> bytes;
  for (const Shape& s : shapes) {
    zeros.push_back(Tensor::empty(s, dtype, device));
    runs.push_back({static_cast<uint8_t*>(zeros.back().raw())});
    bytes.push_back(int64_t(zeros.back().nbytes()));
  }
  std::vector<TensorList<uint8_t, 1>> lists = tensor_lists<uint8_t, 1>(
      runs, bytes, cuda_ops::kCopyChunkBytes, cuda_ops::kCopyStepBytes, cuda_ops::kListFillBlocks);
  if (!lists.empty()) DMDLK_ON_DEVICE(device, zero_bytes_all, lists);
  return zeros;
}

std::vector<Tensor> clone_all(const std::vector<Tensor>& tensors) {
  std::vector<Tensor> copies;
  std::vector<std::vector<uint8_t*>> runs;
  std::vector<int64_t> bytes;
  for (const Tensor& t : tensors) {
    DMDLK_CHECK(t.defined() && t.device() == tensors[0].device(), ErrorCode::InvalidArg,
                "clone_all: every tensor must be defined and on one device");
    copies.push_back(Tensor::empty(t.shape(), t.dtype(), t.device()));
    runs.push_back({static_cast<uint8_t*>(copies.back().raw()), static_cast<uint8_t*>(t.raw())});
    bytes.push_back(int64_t(t.nbytes()));
  }
  if (!tensors.empty()) copy_runs(tensors[0].device(), runs, bytes);
  return copies;
}

namespace {

int64_t inner_size(const Tensor& x) { return x.numel() / std::max<int64_t>(1, x.dim(0) * x.dim(1)); }

// Channels [src_begin, src_begin + count) of src into [dst_begin, ...) of
// dst, tensors [N, C, ...] of one batch and inner size; with `add`, added to
// what dst holds there (a gradient summed in place).
struct ChannelBlock {
  const Tensor& src;
  int64_t src_begin;
  const Tensor& dst;
  int64_t dst_begin, count;
  bool add = false;
};

// Each batch item's block is one contiguous run in both tensors: every run of
// every block goes into one list of byte runs (one launch on CUDA).
void copy_channel_blocks(const std::vector<ChannelBlock>& blocks) {
  std::vector<std::vector<uint8_t*>> runs;
  std::vector<int64_t> bytes;
  std::vector<bool> added;
  for (const ChannelBlock& b : blocks) {
    const int64_t element = int64_t(dtype_size(b.src.dtype())), inner = inner_size(b.src);
    auto* src = static_cast<uint8_t*>(b.src.raw());
    auto* dst = static_cast<uint8_t*>(b.dst.raw());
    for (int64_t n = 0; n < b.src.dim(0); ++n) {
      runs.push_back({dst + (n * b.dst.dim(1) + b.dst_begin) * inner * element,
                      src + (n * b.src.dim(1) + b.src_begin) * inner * element});
      bytes.push_back(b.count * inner * element);
      added.push_back(b.add);
    }
  }
  if (!blocks.empty()) copy_runs(blocks[0].src.device(), runs, bytes, added, blocks[0].src.dtype());
}

void check_channel_major(const Tensor& x, const char* op, const char* name) {
  check_floating(x, op, name);
  DMDLK_CHECK(x.rank() >= 2, ErrorCode::Shape, op, ": ", name, " must have rank >= 2 ([N, C, ...]), got ",
              shape_str(x.shape()));
}

}  // namespace

Tensor concat_channels(const std::vector<Tensor>& parts) {
  const char* op = "concat_channels";
  DMDLK_CHECK(!parts.empty(), ErrorCode::InvalidArg, op, ": needs at least one tensor");
  check_channel_major(parts[0], op, "parts[0]");
  Shape shape = parts[0].shape();
  int64_t channels = 0;
  for (size_t i = 0; i < parts.size(); ++i) {
    std::string name = concat("parts[", i, "]");
    check_channel_major(parts[i], op, name.c_str());
    check_compatible(parts[i], parts[0], op, name.c_str(), "parts[0]");
    Shape expected = shape;
    expected[1] = parts[i].dim(1);
    DMDLK_CHECK(parts[i].shape() == expected, ErrorCode::Shape, op, ": ", name, " ", shape_str(parts[i].shape()),
                " differs from parts[0] ", shape_str(shape), " outside axis 1");
    channels += parts[i].dim(1);
  }
  shape[1] = channels;
  Tensor out = Tensor::empty(shape, parts[0].dtype(), parts[0].device());
  std::vector<ChannelBlock> blocks;
  int64_t offset = 0;
  for (const Tensor& p : parts) {
    blocks.push_back({p, 0, out, offset, p.dim(1)});
    offset += p.dim(1);
  }
  copy_channel_blocks(blocks);
  return out;
}

std::vector<Tensor> split_channels(const Tensor& x, const std::vector<int64_t>& channels,
                                   const std::vector<Tensor>& into) {
  check_channel_major(x, "split_channels", "x");
  int64_t total = 0;
  for (int64_t c : channels) {
    DMDLK_CHECK(c >= 0, ErrorCode::InvalidArg, "split_channels: a part of ", c, " channels");
    total += c;
  }
  DMDLK_CHECK(total == x.dim(1), ErrorCode::Shape, "split_channels: parts of ", total, " channels in all, x ",
              shape_str(x.shape()), " has ", x.dim(1));
  std::vector<Tensor> parts;
  parts.reserve(channels.size());  // the blocks below hold references into it
  std::vector<ChannelBlock> blocks;
  int64_t offset = 0;
  for (size_t i = 0; i < channels.size(); ++i) {
    Shape shape = x.shape();
    shape[1] = channels[i];
    const bool add = i < into.size() && into[i].defined();
    if (add) {
      check_compatible(into[i], x, "split_channels", "the gradient to add into", "x");
      check_shape(into[i], shape, "split_channels", "the gradient to add into");
    }
    parts.push_back(add ? into[i] : Tensor::empty(shape, x.dtype(), x.device()));
    blocks.push_back({x, offset, parts.back(), 0, channels[i], add});
    offset += channels[i];
  }
  copy_channel_blocks(blocks);
  return parts;
}

Tensor slice_channels(const Tensor& x, int64_t begin, int64_t end) {
  check_channel_major(x, "slice_channels", "x");
  DMDLK_CHECK(0 <= begin && begin <= end && end <= x.dim(1), ErrorCode::InvalidArg, "slice_channels: [", begin, ", ",
              end, ") is not a channel range of x ", shape_str(x.shape()));
  Shape shape = x.shape();
  shape[1] = end - begin;
  Tensor out = Tensor::empty(shape, x.dtype(), x.device());
  copy_channel_blocks({{x, begin, out, 0, end - begin}});
  return out;
}

Tensor slice_channels_backward(const Tensor& dy, const Shape& x_shape, int64_t begin, const Tensor& dx_into) {
  check_channel_major(dy, "slice_channels_backward", "dy");
  Shape expected = x_shape;
  DMDLK_CHECK(expected.size() == dy.shape().size() && begin >= 0 && begin + dy.dim(1) <= x_shape[1], ErrorCode::Shape,
              "slice_channels_backward: dy ", shape_str(dy.shape()), " at channel ", begin, " does not fit in ",
              shape_str(x_shape));
  expected[1] = dy.dim(1);
  check_shape(dy, expected, "slice_channels_backward", "dy");
  if (dx_into.defined()) {  // the slice's channels added, the others left as they are: one launch
    check_compatible(dx_into, dy, "slice_channels_backward", "the gradient to add into", "dy");
    check_shape(dx_into, x_shape, "slice_channels_backward", "the gradient to add into");
    copy_channel_blocks({{dy, 0, dx_into, begin, dy.dim(1), true}});
    return dx_into;
  }
  Tensor dx = Tensor::zeros(x_shape, dy.dtype(), dy.device());
  copy_channel_blocks({{dy, 0, dx, begin, dy.dim(1)}});
  return dx;
}

std::vector<int> inverse_permutation(const std::vector<int>& perm) {
  std::vector<int> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[size_t(perm[i])] = int(i);
  return inv;
}

Tensor permute(const Tensor& x, const std::vector<int>& perm, const Tensor& addend) {
  check_floating(x, "permute", "x");
  int rank = x.rank();
  DMDLK_CHECK(int(perm.size()) == rank && rank <= kMaxPermuteRank, ErrorCode::InvalidArg,
              "permute: needs a permutation of ", rank, " axes (at most ", kMaxPermuteRank, "), got ", perm.size());
  std::vector<bool> seen(size_t(rank), false);
  for (int a : perm) {
    DMDLK_CHECK(a >= 0 && a < rank && !seen[size_t(a)], ErrorCode::InvalidArg, "permute: axis ", a,
                " is out of range or repeated");
    seen[size_t(a)] = true;
  }
  PermutePlan plan;
  plan.rank = rank;
  int64_t stride[kMaxPermuteRank], s = 1;
  for (int d = rank - 1; d >= 0; --d) stride[d] = s, s *= x.dim(d);
  Shape out_shape;
  for (int i = 0; i < rank; ++i) {
    plan.out_size[i] = IndexDivisor::of(x.dim(perm[size_t(i)]));
    plan.in_stride[i] = stride[perm[size_t(i)]];
    out_shape.push_back(plan.out_size[i].d);
  }
  if (addend.defined()) {
    check_compatible(addend, x, "permute", "addend", "x");
    DMDLK_CHECK(addend.numel() == x.numel(), ErrorCode::Shape, "permute: the addend ", shape_str(addend.shape()),
                " has not the result's ", x.numel(), " elements");
  }
  Tensor y = Tensor::empty(out_shape, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  dispatch_floating(x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    DMDLK_ON_DEVICE(x.device(), permute, plan, y.numel(), x.data<T>(), addend.defined() ? addend.data<T>() : nullptr,
                    y.data<T>());
  });
  return y;
}

// [B, C, nh·wh, nw·ww] = [B, C, nh, wh, nw, ww] -> [B, nh, nw, wh, ww, C] = [B·nW, wh·ww, C]
Tensor window_partition(const Tensor& x, int64_t wh, int64_t ww) {
  check_floating(x, "window_partition", "x");
  check_rank(x, 4, "window_partition", "x", "[B, C, H, W]");
  int64_t b = x.dim(0), c = x.dim(1), h = x.dim(2), w = x.dim(3);
  DMDLK_CHECK(wh >= 1 && ww >= 1 && h % wh == 0 && w % ww == 0, ErrorCode::Shape, "window_partition: ", wh, "×", ww,
              " windows do not tile x ", shape_str(x.shape()));
  Tensor t = permute(x.reshape({b, c, h / wh, wh, w / ww, ww}), {0, 2, 4, 3, 5, 1});
  return t.reshape({b * (h / wh) * (w / ww), wh * ww, c});
}

Tensor window_merge(const Tensor& tokens, int64_t batch, int64_t height, int64_t width, int64_t wh, int64_t ww,
                    const Tensor& residual) {
  check_floating(tokens, "window_merge", "tokens");
  check_rank(tokens, 3, "window_merge", "tokens", "[B·nW, wh·ww, C]");
  DMDLK_CHECK(wh >= 1 && ww >= 1 && height % wh == 0 && width % ww == 0, ErrorCode::Shape, "window_merge: ", wh, "×",
              ww, " windows do not tile ", height, "×", width);
  int64_t c = tokens.dim(2), nh = height / wh, nw = width / ww;
  check_shape(tokens, {batch * nh * nw, wh * ww, c}, "window_merge", "tokens");
  if (residual.defined()) check_shape(residual, {batch, c, height, width}, "window_merge", "residual");
  Tensor x = permute(tokens.reshape({batch, nh, nw, wh, ww, c}), {0, 5, 1, 3, 2, 4}, residual);
  return x.reshape({batch, c, height, width});
}

// ---- the graph's layout ops ---------------------------------------------------------
namespace {

std::vector<Shape> window_partition_shape(const Shape& x, int64_t wh, int64_t ww) {
  DMDLK_CHECK(x.size() == 4, ErrorCode::Shape, "window_partition: x must have rank 4 ([B, C, H, W]), got shape ",
              shape_str(x));
  DMDLK_CHECK(wh >= 1 && ww >= 1 && x[2] % wh == 0 && x[3] % ww == 0, ErrorCode::Shape, "window_partition: ", wh, "×",
              ww, " windows do not tile x ", shape_str(x));
  return {{x[0] * (x[2] / wh) * (x[3] / ww), wh * ww, x[1]}};
}

OpCost copy_cost(const std::vector<Shape>& in, const OpAttrs&) { return {0, 2 * shapes_bytes(in)}; }

// Concat's parts and a slice's input add their gradients into those the graph holds.
bool adds_into_any(const std::vector<Shape>&, const OpAttrs&, size_t) { return true; }

// [B, C, H, W] ⇄ windows: one permutation either way (with an addend: a merge's residual).
std::vector<cuda::LaunchPlan> window_launches(const Shape& image, DType t, bool addend = false) {
  return {cuda_ops::plan_permute(shape_numel(image), int64_t(dtype_size(t)), addend)};
}

// The runs of channel blocks of tensors `x` ([N, C, ...]), `count[i]` channels of x[i]: copy_channel_blocks.
std::vector<cuda::LaunchPlan> channel_block_copies(const std::vector<Shape>& x, const std::vector<int64_t>& count,
                                                   DType t) {
  std::vector<int64_t> bytes;
  for (size_t i = 0; i < x.size(); ++i)
    for (int64_t n = 0; n < x[i][0]; ++n)
      bytes.push_back(count[i] * (shape_numel(x[i]) / std::max<int64_t>(1, x[i][0] * x[i][1])) *
                      int64_t(dtype_size(t)));
  return cuda_ops::plan_copy_bytes_all(bytes);
}

}  // namespace

// Inputs of any number, joined along channels in order.
extern const OpDef concat_op{
    OpKind::Concat,
    "concat",
    no_attrs,
    [](const std::vector<Shape>& in, const OpAttrs&) {
      DMDLK_CHECK(!in.empty() && in[0].size() >= 2, ErrorCode::Shape, "concat_channels: needs tensors [N, C, ...]");
      Shape out = in[0];
      out[1] = 0;
      for (const Shape& s : in) {
        Shape expected = in[0];
        expected[1] = s.size() >= 2 ? s[1] : -1;
        DMDLK_CHECK(s == expected, ErrorCode::Shape, "concat_channels: ", shape_str(s), " differs from ",
                    shape_str(in[0]), " outside axis 1");
        out[1] += s[1];
      }
      return std::vector<Shape>{out};
    },
    [](const Tensors& in, const OpAttrs&) { return Tensors{concat_channels(in)}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&, WantedGrads wanted) {
      std::vector<int64_t> channels;
      Tensors into;
      for (size_t k = 0; k < in.size(); ++k) {
        channels.push_back(in[k].dim(1));
        into.push_back(wanted.accumulate_into(k));
      }
      return split_channels(d[0], channels, into);
    },
    copy_cost,
    [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass, WantedGrads) {
      // Every part's block, into the result or out of its gradient, in one list of runs.
      std::vector<int64_t> channels;
      for (const Shape& s : in) channels.push_back(s[1]);
      return channel_block_copies(in, channels, t);
    },
    adds_into_any,
};

extern const OpDef slice_op{
    OpKind::Slice,
    "slice",
    []() -> OpAttrs { return SliceAttrs{}; },
    [](const std::vector<Shape>& in, const OpAttrs& attrs) {
      const auto& a = std::get<SliceAttrs>(attrs);
      DMDLK_CHECK(in[0].size() >= 2 && 0 <= a.begin && a.begin <= a.end && a.end <= in[0][1], ErrorCode::InvalidArg,
                  "slice_channels: [", a.begin, ", ", a.end, ") is not a channel range of x ", shape_str(in[0]));
      Shape out = in[0];
      out[1] = a.end - a.begin;
      return std::vector<Shape>{out};
    },
    [](const Tensors& in, const OpAttrs& attrs) {
      const auto& a = std::get<SliceAttrs>(attrs);
      return Tensors{slice_channels(in[0], a.begin, a.end)};
    },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs& attrs, WantedGrads wanted) {
      return Tensors{
          slice_channels_backward(d[0], in[0].shape(), std::get<SliceAttrs>(attrs).begin, wanted.accumulate_into(0))};
    },
    copy_cost,
    [](const std::vector<Shape>& in, DType t, const OpAttrs& attrs, Pass pass, WantedGrads wanted) {
      const auto& a = std::get<SliceAttrs>(attrs);
      std::vector<cuda::LaunchPlan> copy = channel_block_copies(in, {a.end - a.begin}, t);
      if (pass == Pass::Forward || wanted.adds_into(0)) return copy;  // added into the gradient held: no zeros first
      std::vector<cuda::LaunchPlan> plans{cuda::plan_fill_zero(int64_t(shapes_bytes(in, t)))};
      cuda::append(plans, copy);
      return plans;
    },
    adds_into_any,
};

// A view: no data moves.
extern const OpDef reshape_op{
    OpKind::Reshape,
    "reshape",
    []() -> OpAttrs { return ReshapeAttrs{}; },
    [](const std::vector<Shape>& in, const OpAttrs& attrs) {
      const Shape& to = std::get<ReshapeAttrs>(attrs).shape;
      DMDLK_CHECK(shape_numel(to) == shape_numel(in[0]), ErrorCode::Shape, "reshape: cannot view ", shape_str(in[0]),
                  " as ", shape_str(to));
      return std::vector<Shape>{to};
    },
    [](const Tensors& in, const OpAttrs& attrs) { return Tensors{in[0].reshape(std::get<ReshapeAttrs>(attrs).shape)}; },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs&, WantedGrads) {
      return Tensors{d[0].reshape(in[0].shape())};
    },
    [](const std::vector<Shape>&, const OpAttrs&) { return OpCost{}; },
    [](const std::vector<Shape>&, DType, const OpAttrs&, Pass, WantedGrads) { return std::vector<cuda::LaunchPlan>{}; },
    nullptr,
    [](const std::vector<Shape>&, const OpAttrs&, size_t) { return true; },  // a view of dy
};

// [B, C, H, W] → [B·nW, wh·ww, C]: windows and their tokens in row-major order.
extern const OpDef window_partition_op{
    OpKind::WindowPartition,
    "window_partition",
    []() -> OpAttrs { return WindowAttrs{}; },
    [](const std::vector<Shape>& in, const OpAttrs& attrs) {
      const auto& a = std::get<WindowAttrs>(attrs);
      return window_partition_shape(in[0], a.window_h, a.window_w);
    },
    [](const Tensors& in, const OpAttrs& attrs) {
      const auto& a = std::get<WindowAttrs>(attrs);
      return Tensors{window_partition(in[0], a.window_h, a.window_w)};
    },
    [](const Tensors& in, const Tensors&, const Tensors& d, const OpAttrs& attrs, WantedGrads) {
      const auto& a = std::get<WindowAttrs>(attrs);
      const Shape& x = in[0].shape();
      return Tensors{window_merge(d[0], x[0], x[2], x[3], a.window_h, a.window_w)};
    },
    copy_cost,
    [](const std::vector<Shape>& in, DType t, const OpAttrs&, Pass, WantedGrads) { return window_launches(in[0], t); },
};

// Back from windows to the image `attrs.image` [B, C, H, W].
extern const OpDef window_merge_op{
    OpKind::WindowMerge,
    "window_merge",
    []() -> OpAttrs { return WindowMergeAttrs{}; },
    [](const std::vector<Shape>& in, const OpAttrs& attrs) {
      const auto& a = std::get<WindowMergeAttrs>(attrs);
      std::vector<Shape> tokens = window_partition_shape(a.image, a.window_h, a.window_w);
      DMDLK_CHECK(in[0] == tokens[0], ErrorCode::Shape, "window_merge: tokens must have shape ", shape_str(tokens[0]),
                  ", got ", shape_str(in[0]));
      DMDLK_CHECK(in.size() == (a.residual ? 2u : 1u) && (!a.residual || in[1] == a.image), ErrorCode::Shape,
                  "window_merge: ", a.residual ? "a residual of the image's shape " : "no residual",
                  " must follow the tokens (the 'residual' attribute)");
      return std::vector<Shape>{a.image};
    },
    [](const Tensors& in, const OpAttrs& attrs) {
      const auto& a = std::get<WindowMergeAttrs>(attrs);
      DMDLK_CHECK(a.residual == (in.size() > 1), ErrorCode::InvalidArg, "window_merge: the 'residual' attribute is ",
                  a.residual ? "true" : "false", " with ", in.size(), " inputs");
      return Tensors{window_merge(in[0], a.image[0], a.image[2], a.image[3], a.window_h, a.window_w,
                                  a.residual ? in[1] : Tensor())};
    },
    [](const Tensors&, const Tensors&, const Tensors& d, const OpAttrs& attrs, WantedGrads) {
      const auto& a = std::get<WindowMergeAttrs>(attrs);
      Tensors grads{window_partition(d[0], a.window_h, a.window_w)};
      if (a.residual) grads.push_back(d[0]);  // the residual's gradient is dy itself
      return grads;
    },
    copy_cost,
    [](const std::vector<Shape>&, DType t, const OpAttrs& attrs, Pass pass, WantedGrads) {
      const auto& a = std::get<WindowMergeAttrs>(attrs);
      return window_launches(a.image, t, pass == Pass::Forward && a.residual);
    },
    nullptr,
    // passes_gradient: the residual's
    [](const std::vector<Shape>&, const OpAttrs& attrs, size_t input) {
      return std::get<WindowMergeAttrs>(attrs).residual && input == 1;
    },
};

}  // namespace dmdlk
