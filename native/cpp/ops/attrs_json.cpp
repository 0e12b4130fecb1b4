#include "ops/attrs_json.h"

#include <sstream>

#include "io/json.h"

namespace dmdlk {

namespace {

// Builds one JSON object, key by key, in the order written.
class Object {
 public:
  Object& add(const char* key, const std::string& literal) {
    out_ << (first_ ? "" : ", ") << json::quote(key) << ": " << literal;
    first_ = false;
    return *this;
  }
  Object& integer(const char* key, int64_t v) { return add(key, std::to_string(v)); }
  Object& boolean(const char* key, bool v) { return add(key, v ? "true" : "false"); }
  Object& pair(const char* key, int64_t a, int64_t b) {
    return add(key, "[" + std::to_string(a) + ", " + std::to_string(b) + "]");
  }
  Object& shape(const char* key, const Shape& s) {
    std::string text = "[";
    for (size_t i = 0; i < s.size(); ++i) text += (i ? ", " : "") + std::to_string(s[i]);
    return add(key, text + "]");
  }
  Object& number(const char* key, double v) {
    std::ostringstream text;
    text.precision(17);
    text << v;
    return add(key, text.str());
  }
  Object& string(const char* key, const std::string& v) { return add(key, json::quote(v)); }
  std::string str() const { return "{" + out_.str() + "}"; }

 private:
  std::ostringstream out_;
  bool first_ = true;
};

template <typename Options>
Object convolution(const Options& o) {
  Object j;
  j.pair("stride", o.stride_h, o.stride_w)
      .pair("padding", o.pad_h, o.pad_w)
      .pair("dilation", o.dilation_h, o.dilation_w);
  j.integer("groups", o.groups);
  return j;
}

struct Writer {
  std::string operator()(const NoAttrs&) const { return "{}"; }
  std::string operator()(const PoolAttrs& a) const {
    return Object().integer("kernel", a.kernel).integer("stride", a.stride).integer("padding", a.pad).str();
  }
  std::string operator()(const BatchNormAttrs& a) const { return Object().boolean("training", a.training).str(); }
  std::string operator()(const AttentionAttrs& a) const {
    return Object().pair("window", a.window_h, a.window_w).integer("heads", a.heads).number("scale", a.scale).str();
  }
  std::string operator()(const SliceAttrs& a) const {
    return Object().integer("begin", a.begin).integer("end", a.end).str();
  }
  std::string operator()(const ReshapeAttrs& a) const { return Object().shape("shape", a.shape).str(); }
  std::string operator()(const WindowAttrs& a) const {
    Object j;
    j.pair("window", a.window_h, a.window_w);
    if (!a.image.empty()) j.shape("image", a.image);
    return j.str();
  }
  std::string operator()(Activation a) const { return Object().string("kind", enum_name(kActivationNames, a)).str(); }
  std::string operator()(LayerNormAxis a) const {
    return Object().string("axis", enum_name(kLayerNormAxisNames, a)).str();
  }
  std::string operator()(const Conv2dOptions& o) const { return convolution(o).str(); }
  std::string operator()(const DeformConv2dAttrs& a) const {
    return convolution(a.options).boolean("mask", a.mask).boolean("bias", a.bias).str();
  }
};

}  // namespace

std::string attrs_json(const OpAttrs& attrs) { return std::visit(Writer{}, attrs); }

}  // namespace dmdlk
