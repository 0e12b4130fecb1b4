#include "io/json.h"

#include <cstdio>
#include <cstdlib>

#include "core/error.h"

namespace dmdlk::json {

namespace {

constexpr int kMaxDepth = 64;

class Parser {
 public:
  Parser(const char* data, size_t size) : p_(data), begin_(data), end_(data + size) {}

  Value document() {
    Value v = value(0);
    skip_space();
    if (p_ != end_) fail("unexpected data after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const char* what) {
    throw Error(ErrorCode::Format, concat("invalid JSON at byte ", p_ - begin_, ": ", what));
  }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) ++p_;
  }

  bool take(char c) {
    skip_space();
    if (p_ != end_ && *p_ == c) {
      ++p_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!take(c)) fail(concat("expected '", c, "'").c_str());
  }

  Value value(int depth) {
    if (depth > kMaxDepth) fail("nesting too deep");
    skip_space();
    if (p_ == end_) fail("unexpected end of input");
    Value v;
    switch (*p_) {
      case '{': {
        ++p_;
        v.kind = Value::Kind::Object;
        if (take('}')) return v;
        do {
          skip_space();
          std::string key = string_literal();
          expect(':');
          v.members.emplace_back(std::move(key), value(depth + 1));
        } while (take(','));
        expect('}');
        return v;
      }
      case '[': {
        ++p_;
        v.kind = Value::Kind::Array;
        if (take(']')) return v;
        do v.items.push_back(value(depth + 1));
        while (take(','));
        expect(']');
        return v;
      }
      case '"':
        v.kind = Value::Kind::String;
        v.text = string_literal();
        return v;
      case 't':
        literal("true");
        v.kind = Value::Kind::Bool;
        v.boolean = true;
        return v;
      case 'f':
        literal("false");
        v.kind = Value::Kind::Bool;
        return v;
      case 'n': literal("null"); return v;
      default:
        v.kind = Value::Kind::Number;
        v.text = number();
        return v;
    }
  }

  void literal(const char* word) {
    for (const char* w = word; *w; ++w, ++p_)
      if (p_ == end_ || *p_ != *w) fail("unknown literal");
  }

  std::string number() {
    const char* start = p_;
    if (p_ != end_ && *p_ == '-') ++p_;
    size_t digits = 0;
    while (p_ != end_ &&
           ((*p_ >= '0' && *p_ <= '9') || *p_ == '.' || *p_ == 'e' || *p_ == 'E' || *p_ == '+' || *p_ == '-')) {
      ++p_;
      ++digits;
    }
    if (digits == 0) fail("expected a value");
    return std::string(start, p_);
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) out += char(cp);
    else if (cp < 0x800) out += char(0xC0 | (cp >> 6)), out += char(0x80 | (cp & 0x3F));
    else if (cp < 0x10000)
      out += char(0xE0 | (cp >> 12)), out += char(0x80 | ((cp >> 6) & 0x3F)), out += char(0x80 | (cp & 0x3F));
    else
      out += char(0xF0 | (cp >> 18)), out += char(0x80 | ((cp >> 12) & 0x3F)), out += char(0x80 | ((cp >> 6) & 0x3F)),
          out += char(0x80 | (cp & 0x3F));
  }

  uint32_t hex4() {
    uint32_t cp = 0;
    for (int i = 0; i < 4; ++i, ++p_) {
      if (p_ == end_) fail("truncated \\u escape");
      char c = *p_;
      int d = c >= '0' && c <= '9'   ? c - '0'
              : c >= 'a' && c <= 'f' ? c - 'a' + 10
              : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                     : -1;
      if (d < 0) fail("bad \\u escape");
      cp = cp * 16 + uint32_t(d);
    }
    return cp;
  }

  std::string string_literal() {
    if (p_ == end_ || *p_ != '"') fail("expected a string");
    ++p_;
    std::string out;
    for (;;) {
      if (p_ == end_) fail("unterminated string");
      char c = *p_++;
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (p_ == end_) fail("unterminated escape");
      char e = *p_++;
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          uint32_t cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00) {  // a surrogate pair
            if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') fail("lone surrogate");
            p_ += 2;
            uint32_t low = hex4();
            if (low < 0xDC00 || low > 0xDFFF) fail("bad surrogate pair");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
            fail("lone surrogate");
          }
          append_utf8(out, cp);
          break;
        }
        default: fail("unknown escape");
      }
    }
  }

  const char* p_;
  const char* begin_;
  const char* end_;
};

}  // namespace

bool Value::is_integer() const {
  if (kind != Kind::Number || text.empty()) return false;
  size_t start = text[0] == '-' ? 1 : 0;
  if (start == text.size()) return false;
  for (size_t i = start; i < text.size(); ++i)
    if (text[i] < '0' || text[i] > '9') return false;
  return true;
}

uint64_t Value::as_index(const char* what) const {
  DMDLK_CHECK(is_integer() && text[0] != '-', ErrorCode::Format, what, " must be a non-negative integer, got ",
              kind == Kind::Number ? text : std::string("a non-number"));
  DMDLK_CHECK(text.size() <= 19, ErrorCode::Format, what, " is too large: ", text);
  uint64_t v = std::strtoull(text.c_str(), nullptr, 10);
  DMDLK_CHECK(v <= uint64_t(INT64_MAX), ErrorCode::Format, what, " is too large: ", text);
  return v;
}

Value parse(const char* data, size_t size) { return Parser(data, size).document(); }

std::string number(double v) {
  char text[32];
  std::snprintf(text, sizeof text, "%.17g", v);
  return text;
}

std::string describe(const Value& v) {
  switch (v.kind) {
    case Value::Kind::Number: return v.text;
    case Value::Kind::String: return "'" + v.text + "'";
    case Value::Kind::Bool: return v.boolean ? "true" : "false";
    case Value::Kind::Null: return "null";
    case Value::Kind::Array: return "an array of " + std::to_string(v.items.size()) + " values";
    case Value::Kind::Object: return "an object";
  }
  return "";  // not reached: the switch names every kind (-Werror=switch)
}

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"') out += "\\\"";
    else if (c == '\\') out += "\\\\";
    else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else out += char(c);
  }
  return out + "\"";
}

}  // namespace dmdlk::json
