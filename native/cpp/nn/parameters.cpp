#include "nn/parameters.h"

namespace dmdlk {

namespace {

// Appends specs under a name prefix, mirroring the module tree.
class Layout {
 public:
  explicit Layout(std::vector<TensorSpec>& out, std::string prefix = "") : out_(out), prefix_(std::move(prefix)) {}
  Layout operator/(const std::string& child) const { return Layout(out_, prefix_ + child + "."); }

  void conv(const std::string& name, int64_t cin, int64_t cout, int64_t k, bool bias, int64_t groups = 1,
            Init init = Init::KaimingUniform) {
    int64_t fan_in = cin / groups * k * k;
    add(name + ".weight", {cout, cin / groups, k, k}, init, fan_in);
    if (bias) add(name + ".bias", {cout}, init, fan_in);
  }
  void linear(const std::string& name, int64_t cin, int64_t cout) {
    add(name + ".weight", {cout, cin}, Init::TruncNormal, cin);
    add(name + ".bias", {cout}, Init::Zeros, cin);
  }
  void batch_norm(const std::string& name, int64_t c) {
    add(name + ".weight", {c}, Init::Ones);
    add(name + ".bias", {c}, Init::Zeros);
    add(name + ".running_mean", {c}, Init::Zeros, 0, TensorKind::Buffer);
    add(name + ".running_var", {c}, Init::Ones, 0, TensorKind::Buffer);
  }
  void layer_norm(const std::string& name, int64_t c) {
    add(name + ".weight", {c}, Init::Ones);
    add(name + ".bias", {c}, Init::Zeros);
  }
  void add(const std::string& name, Shape shape, Init init, int64_t fan_in = 0,
           TensorKind kind = TensorKind::Parameter) {
    out_.push_back({prefix_ + name, std::move(shape), kind, init, fan_in});
  }

 private:
  std::vector<TensorSpec>& out_;
  std::string prefix_;
};

void mbconv(Layout l, const ModelConfig& c, int64_t cin, int64_t cout, bool se) {
  int64_t e = c.expansion * cout;
  l.batch_norm("pre_norm", cin);
  l.conv("expand", cin, e, 1, false);
  l.batch_norm("expand_norm", e);
  l.conv("dw", e, e, 3, false, e);
  l.batch_norm("dw_norm", e);
  if (se) {
    int64_t s = std::max<int64_t>(1, int64_t(c.se_ratio * double(cout)));
    (l / "se").conv("reduce", e, s, 1, true);
    (l / "se").conv("expand", s, e, 1, true);
  }
  l.conv("project", e, cout, 1, true);
  if (cin != cout) l.conv("shortcut", cin, cout, 1, true);
}

void moat(Layout l, const ModelConfig& c, int64_t cin, int64_t cout, int64_t window) {
  mbconv(l / "mbconv", c, cin, cout, false);
  l.layer_norm("attn_norm", cout);
  Layout attn = l / "attn";
  attn.add("rel_pos", {cout / c.head_dim, 2 * window - 1, 2 * window - 1}, Init::Zeros);
  for (const char* proj : {"q", "k", "v", "proj"}) attn.linear(proj, cout, cout);
}

void deformable(Layout l, const ModelConfig& c, int64_t ch, int64_t k) {
  l.add("weight", {ch, 1, k, k}, Init::KaimingUniform, k * k);
  if (c.offsets == OffsetKind::Light) {
    l.conv("offset_dw", ch, ch, k, false, ch);
    l.conv("offset", ch, 2 * k * k, 1, true, 1, Init::Zeros);
  } else {
    l.conv("offset", ch, 2 * k * k, k, true, 1, Init::Zeros);
  }
}

void decoder(Layout l, const ModelConfig& c, int64_t ca, int64_t cb, int64_t cout) {
  Layout dmff = l / "dmff";
  int64_t both = ca + cb;
  dmff.conv("spatial1", ca, 1, 1, true);
  dmff.conv("spatial2", cb, 1, 1, true);
  dmff.conv("query", both, 1, 1, false);
  dmff.conv("value", both, both / 2, 1, false);
  dmff.conv("restore", both / 2, both, 1, false);
  dmff.layer_norm("norm", both);
  dmff.conv("out", both, cout, 1, false);
  Layout ddlk = l / "ddlk";
  deformable(ddlk / "dlk1", c, cout, 5);
  deformable(ddlk / "dlk2", c, cout, 7);
  ddlk.conv("select", 2, 2, c.select_kernel, true);
}

}  // namespace

std::vector<TensorSpec> checkpoint_layout(const ModelConfig& c) {
  validate(c);
  std::vector<TensorSpec> specs;
  Layout root(specs);
  int64_t c0 = c.stem, c1 = c.widths[0], c2 = c.widths[1], c3 = c.widths[2], c4 = c.widths[3];
  Layout stem = root / "stem";
  stem.conv("conv1", c.in_channels, c0, 3, true);
  stem.batch_norm("norm1", c0);
  stem.conv("conv2", c0, c0, 3, true);
  const char* stages[4] = {"level2", "level3", "level4", "bottleneck"};
  int64_t cin = c0;
  for (int i = 0; i < 4; ++i) {
    Layout blocks = root / stages[i] / "blocks";
    int64_t cout = c.widths[size_t(i)];
    for (int64_t b = 0; b < c.depths[size_t(i)]; ++b) {
      int64_t block_in = b == 0 ? cin : cout;
      if (c.blocks[size_t(i)] == BlockKind::MBConv) mbconv(blocks / std::to_string(b), c, block_in, cout, true);
      else moat(blocks / std::to_string(b), c, block_in, cout, c.stage_window(i));
    }
    cin = cout;
  }
  Layout up = root / "bottleneck_up";
  up.conv("conv", c4, c3, 1, false);
  up.batch_norm("norm", c3);
  decoder(root / "decoder4", c, c4 + c3 + c2, c3, c3);
  decoder(root / "decoder3", c, c3 + c2 + c1, c3, c2);
  decoder(root / "decoder2", c, c2 + c1 + c0, c2, c1);
  decoder(root / "decoder1", c, c1 + c0, c1, c1);
  root.conv("head", c1, c.num_classes, 1, true);
  return specs;
}

int64_t parameter_count(const ModelConfig& config) {
  int64_t n = 0;
  for (const TensorSpec& s : checkpoint_layout(config))
    if (s.kind == TensorKind::Parameter) n += shape_numel(s.shape);
  return n;
}

}  // namespace dmdlk
