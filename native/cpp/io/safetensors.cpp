#include "io/safetensors.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include "io/atomic_file.h"
#include "io/json.h"

namespace dmdlk {

namespace {

struct FileDType {
  const char* name;
  size_t size;
};

// The safetensors dtypes we know the size of; only some of them load.
bool file_dtype_size(const std::string& name, size_t* size) {
  static const FileDType known[] = {{"F64", 8}, {"F32", 4}, {"F16", 2},  {"BF16", 2},    {"I64", 8},
                                    {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U64", 8},     {"U32", 4},
                                    {"U16", 2}, {"U8", 1},  {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const FileDType& d : known)
    if (name == d.name) {
      *size = d.size;
      return true;
    }
  return false;
}

const char* file_dtype_name(DType t) {
  switch (t) {
    case DType::F32: return "F32";
    case DType::F64: return "F64";
    case DType::U8: return "U8";
    case DType::I32: return "I32";
  }
  return "?";
}

struct Entry {
  std::string name, dtype;
  Shape shape;
  uint64_t begin = 0, end = 0;
};

uint64_t read_u64_le(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

Entry parse_entry(const std::string& name, const json::Value& v) {
  DMDLK_CHECK(v.kind == json::Value::Kind::Object, ErrorCode::Format, "tensor '", name, "' is not an object");
  Entry e;
  e.name = name;
  bool has_dtype = false, has_shape = false, has_offsets = false;
  for (const auto& [key, field] : v.members) {
    if (key == "dtype") {
      DMDLK_CHECK(field.kind == json::Value::Kind::String, ErrorCode::Format, "tensor '", name,
                  "': dtype is not a string");
      e.dtype = field.text;
      has_dtype = true;
    } else if (key == "shape") {
      DMDLK_CHECK(field.kind == json::Value::Kind::Array, ErrorCode::Format, "tensor '", name,
                  "': shape is not an array");
      for (const json::Value& d : field.items) e.shape.push_back(static_cast<int64_t>(d.as_index("a shape extent")));
      has_shape = true;
    } else if (key == "data_offsets") {
      DMDLK_CHECK(field.kind == json::Value::Kind::Array && field.items.size() == 2, ErrorCode::Format, "tensor '",
                  name, "': data_offsets must be [begin, end]");
      e.begin = field.items[0].as_index("data_offsets[0]");
      e.end = field.items[1].as_index("data_offsets[1]");
      has_offsets = true;
    } else {
      throw Error(ErrorCode::Format, concat("tensor '", name, "' has an unknown field '", key, "'"));
    }
  }
  DMDLK_CHECK(has_dtype && has_shape && has_offsets, ErrorCode::Format, "tensor '", name,
              "' needs dtype, shape and data_offsets");
  return e;
}

// Element count × element size, refusing any overflow.
uint64_t checked_bytes(const Entry& e, size_t elem) {
  uint64_t n = elem;
  for (int64_t d : e.shape) {
    DMDLK_CHECK(d == 0 || n <= std::numeric_limits<uint64_t>::max() / uint64_t(d), ErrorCode::Format, "tensor '",
                e.name, "': shape ", shape_str(e.shape), " overflows");
    n *= uint64_t(d);
  }
  return n;
}

Tensor load_entry(const Entry& e, const uint8_t* bytes) {
  DType t;
  if (e.dtype == "F32") t = DType::F32;
  else if (e.dtype == "F64") t = DType::F64;
  else if (e.dtype == "U8") t = DType::U8;
  else if (e.dtype == "I32") t = DType::I32;
  else if (e.dtype == "I64") {
    Tensor out = Tensor::empty(e.shape, DType::I32);
    int32_t* dst = out.data<int32_t>();
    for (int64_t i = 0; i < out.numel(); ++i) {
      int64_t v;
      std::memcpy(&v, bytes + i * 8, 8);
      DMDLK_CHECK(v >= INT32_MIN && v <= INT32_MAX, ErrorCode::Format, "tensor '", e.name, "': I64 value ", v,
                  " does not fit in int32");
      dst[i] = static_cast<int32_t>(v);
    }
    return out;
  } else {
    throw Error(ErrorCode::DType,
                concat("tensor '", e.name, "' has dtype ", e.dtype, "; dmdlk loads F32, F64, U8, I32 and I64"));
  }
  return Tensor::from_host(bytes, e.shape, t);
}

}  // namespace

SafetensorsContents parse_safetensors(const uint8_t* data, size_t size) {
  // The frame (length, then a JSON object) decides whether this is a
  // safetensors file at all; say so first, then what was found.
  DMDLK_CHECK(size >= 8, ErrorCode::Format, "not a safetensors file: ", size,
              " bytes are too short for the 8-byte header length");
  uint64_t header_len = read_u64_le(data);
  DMDLK_CHECK(header_len <= kMaxSafetensorsHeader, ErrorCode::Format,
              "not a safetensors file: its first 8 bytes give a header length of ", header_len,
              ", over the format's limit of ", kMaxSafetensorsHeader, " bytes");
  DMDLK_CHECK(header_len <= size - 8, ErrorCode::Format,
              "not a safetensors file, or a truncated one: its header length ", header_len,
              " runs past the end of the file (", size, " bytes)");
  DMDLK_CHECK(header_len >= 2 && data[8] == '{', ErrorCode::Format,
              "not a safetensors file: the header is not a JSON object");
  json::Value header = json::parse(reinterpret_cast<const char*>(data + 8), header_len);
  DMDLK_CHECK(header.kind == json::Value::Kind::Object, ErrorCode::Format, "the header is not a JSON object");

  SafetensorsContents out;
  std::vector<Entry> entries;
  std::set<std::string> names;
  for (const auto& [name, value] : header.members) {
    DMDLK_CHECK(names.insert(name).second, ErrorCode::Format, "tensor name '", name, "' appears twice");
    if (name == "__metadata__") {
      DMDLK_CHECK(value.kind == json::Value::Kind::Object, ErrorCode::Format, "__metadata__ is not an object");
      for (const auto& [key, v] : value.members) {
        DMDLK_CHECK(v.kind == json::Value::Kind::String, ErrorCode::Format, "__metadata__ value '", key,
                    "' is not a string");
        out.metadata[key] = v.text;
      }
      continue;
    }
    entries.push_back(parse_entry(name, value));
  }

  // Sorted by offset, the tensors must tile the data area exactly.
  std::vector<const Entry*> by_offset;
  for (const Entry& e : entries) by_offset.push_back(&e);
  std::sort(by_offset.begin(), by_offset.end(), [](const Entry* a, const Entry* b) {
    return a->begin != b->begin ? a->begin < b->begin : a->end < b->end;
  });
  uint64_t data_size = size - 8 - header_len, expected = 0;
  for (const Entry* e : by_offset) {
    DMDLK_CHECK(e->begin == expected && e->end >= e->begin, ErrorCode::Format, "tensor '", e->name,
                "' has data_offsets [", e->begin, ", ", e->end, "] but the data must continue at ", expected,
                " without gap or overlap");
    size_t elem = 0;
    if (!file_dtype_size(e->dtype, &elem))
      throw Error(ErrorCode::Format, concat("tensor '", e->name, "' has unknown dtype '", e->dtype, "'"));
    uint64_t bytes = checked_bytes(*e, elem);
    DMDLK_CHECK(e->end - e->begin == bytes, ErrorCode::Format, "tensor '", e->name, "' (", e->dtype, " ",
                shape_str(e->shape), ") needs ", bytes, " bytes but data_offsets span ", e->end - e->begin);
    DMDLK_CHECK(e->end <= data_size, ErrorCode::Format, "tensor '", e->name, "' ends at byte ", e->end,
                " past the data area of ", data_size, " bytes");
    expected = e->end;
  }
  DMDLK_CHECK(expected == data_size, ErrorCode::Format, "the data area holds ", data_size,
              " bytes but the tensors describe ", expected);

  const uint8_t* base = data + 8 + header_len;
  for (const Entry& e : entries) out.tensors.emplace_back(e.name, load_entry(e, base + e.begin));
  return out;
}

SafetensorsContents read_safetensors(const std::string& path) {
  std::vector<uint8_t> bytes = read_file(path);
  try {
    return parse_safetensors(bytes.data(), bytes.size());
  } catch (const Error& e) { throw Error(e.code(), concat("'", path, "': ", e.what())); }
}

std::vector<uint8_t> serialize_safetensors(const NamedTensors& tensors,
                                           const std::map<std::string, std::string>& metadata) {
  std::set<std::string> names;
  std::string header = "{";
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool first = true;
    for (const auto& [k, v] : metadata) {
      header += (first ? "" : ",") + json::quote(k) + ":" + json::quote(v);
      first = false;
    }
    header += "}";
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    DMDLK_CHECK(t.defined(), ErrorCode::InvalidArg, "tensor '", name, "' is missing");
    DMDLK_CHECK(name != "__metadata__" && names.insert(name).second, ErrorCode::InvalidArg, "tensor name '", name,
                "' is reserved or appears twice");
    std::string shape = "[";
    for (size_t i = 0; i < t.shape().size(); ++i) shape += (i ? "," : "") + std::to_string(t.shape()[i]);
    header += (header.size() > 1 ? "," : "") + json::quote(name) + ":{\"dtype\":\"" + file_dtype_name(t.dtype()) +
              "\",\"shape\":" + shape + "],\"data_offsets\":[" + std::to_string(offset) + "," +
              std::to_string(offset + t.nbytes()) + "]}";
    offset += t.nbytes();
  }
  header += "}";
  header.append((8 - header.size() % 8) % 8, ' ');  // the data starts 8-byte aligned

  std::vector<uint8_t> out(8 + header.size() + offset);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  uint8_t* dst = out.data() + 8 + header.size();
  for (const auto& entry : tensors) {
    entry.second.copy_to_host(dst);
    dst += entry.second.nbytes();
  }
  return out;
}

void write_safetensors(const std::string& path, const NamedTensors& tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::vector<uint8_t> bytes = serialize_safetensors(tensors, metadata);
  write_file_atomically(path, bytes.data(), bytes.size());
}

}  // namespace dmdlk
