// safetensors: round trips, the rules that make hostile files safe, and
// atomic writes.

#include <cstring>
#include <fstream>

#include "harness.h"
#include "io/atomic_file.h"
#include "io/safetensors.h"

using namespace dmdlk;
using namespace dmdlk::test;

namespace {

std::vector<uint8_t> with_header(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> out(8 + header.size() + data_bytes, 0);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) out[i] = uint8_t(n >> (8 * i));
  std::memcpy(out.data() + 8, header.data(), header.size());
  return out;
}

void expect_format_error(const std::string& header, size_t data_bytes, const char* fragment) {
  auto bytes = with_header(header, data_bytes);
  CHECK_THROWS(parse_safetensors(bytes.data(), bytes.size()), ErrorCode::Format, fragment);
}

}  // namespace

TEST(round_trip_keeps_names_order_dtypes_and_metadata) {
  NamedTensors tensors = {
      {"stem.conv1.weight", Tensor::from_vector(std::vector<float>{1.5f, -2, 3, 4}, {2, 1, 1, 2})},
      {"a.f64", Tensor::from_vector(std::vector<double>{1e-300, 2}, {2})},
      {"mask", Tensor::from_vector(std::vector<uint8_t>{0, 255, 1}, {3})},
      {"ids", Tensor::from_vector(std::vector<int32_t>{-7}, {1})},
      {"empty", Tensor::zeros({0, 3}, DType::F32)},
      {"scalar", Tensor::from_vector(std::vector<float>{42}, {})},
  };
  std::map<std::string, std::string> meta = {{"config", "{\"stem\":32}"}, {"quote\"and\\slash", "ü\n"}};
  auto bytes = serialize_safetensors(tensors, meta);
  CHECK_EQ((bytes.size() - 8 - 0) % 1, size_t(0));
  uint64_t header_len = 0;
  std::memcpy(&header_len, bytes.data(), 8);
  CHECK_EQ(header_len % 8, uint64_t(0));
  SafetensorsContents back = parse_safetensors(bytes.data(), bytes.size());
  CHECK(back.metadata == meta);
  CHECK_EQ(back.tensors.size(), tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    CHECK_EQ(back.tensors[i].first, tensors[i].first);
    CHECK(back.tensors[i].second.shape() == tensors[i].second.shape());
    CHECK(back.tensors[i].second.dtype() == tensors[i].second.dtype());
    std::vector<uint8_t> a(tensors[i].second.nbytes()), b(a.size());
    tensors[i].second.copy_to_host(a.data());
    back.tensors[i].second.copy_to_host(b.data());
    CHECK(a == b);
  }
}

TEST(reads_pytorch_int64_as_int32) {
  std::string header = "{\"n\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]}}";
  auto bytes = with_header(header, 16);
  int64_t values[2] = {12345, -3};
  std::memcpy(bytes.data() + 8 + header.size(), values, 16);
  auto c = parse_safetensors(bytes.data(), bytes.size());
  CHECK(c.tensors[0].second.to_vector<int32_t>() == (std::vector<int32_t>{12345, -3}));
  values[0] = int64_t(1) << 40;
  std::memcpy(bytes.data() + 8 + header.size(), values, 16);
  CHECK_THROWS(parse_safetensors(bytes.data(), bytes.size()), ErrorCode::Format, "does not fit in int32");
}

TEST(hostile_headers_are_format_errors) {
  std::vector<uint8_t> tiny = {1, 2, 3};
  CHECK_THROWS(parse_safetensors(tiny.data(), tiny.size()), ErrorCode::Format,
               "not a safetensors file: 3 bytes are too short");
  auto huge = with_header("{}", 0);
  huge[5] = 1;  // a header length of ~2^40
  CHECK_THROWS(parse_safetensors(huge.data(), huge.size()), ErrorCode::Format,
               "not a safetensors file: its first 8 bytes give a header length of");
  auto past = with_header("{}", 0);
  past[0] = 200;
  CHECK_THROWS(parse_safetensors(past.data(), past.size()), ErrorCode::Format, "runs past the end");
  expect_format_error("[1,2]", 0, "not a JSON object");
  expect_format_error("{\"a\":", 0, "invalid JSON");
  expect_format_error(std::string(100, '{'), 0, "invalid JSON");
  expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "needs 8 bytes");
  expect_format_error(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
      8, "without gap or overlap");
  expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, "without gap or overlap");
  expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 12,
                      "data area holds 12 bytes");
  expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 2, "past the data area");
  expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,16],\"data_offsets\":[0,4]}}", 4,
                      "overflows");
  expect_format_error("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "non-negative integer");
  expect_format_error("{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype");
  expect_format_error(
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
      "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
      8, "appears twice");
  expect_format_error("{\"__metadata__\":{\"k\":1}}", 0, "is not a string");
  auto f16 = with_header("{\"h\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
  CHECK_THROWS(parse_safetensors(f16.data(), f16.size()), ErrorCode::DType, "tensor 'h' has dtype F16");
}

TEST(truncated_files_never_parse) {
  NamedTensors tensors = {{"w", Tensor::from_vector(std::vector<float>(100, 1.0f), {10, 10})}};
  auto bytes = serialize_safetensors(tensors, {{"k", "v"}});
  for (size_t cut = 0; cut < bytes.size(); cut += 7) {
    bool threw = false;
    try {
      parse_safetensors(bytes.data(), cut);
    } catch (const Error& e) { threw = e.code() == ErrorCode::Format; }
    if (!threw) fail(__FILE__, __LINE__, concat("a file cut at ", cut, " bytes parsed"));
  }
}

TEST(atomic_write_replaces_and_reports_errors) {
  std::string dir = temp_dir(), path = dir + "/model.safetensors";
  NamedTensors first = {{"w", Tensor::from_vector(std::vector<float>{1, 2}, {2})}};
  write_safetensors(path, first, {});
  NamedTensors second = {{"w", Tensor::from_vector(std::vector<float>{3, 4}, {2})}};
  write_safetensors(path, second, {{"step", "2"}});
  auto back = read_safetensors(path);
  CHECK(back.tensors[0].second.to_vector<float>() == (std::vector<float>{3, 4}));
  CHECK_EQ(back.metadata["step"], std::string("2"));
  CHECK_THROWS(read_safetensors(dir + "/missing.safetensors"), ErrorCode::IO, "No such file");
  CHECK_THROWS(write_safetensors(dir + "/no/such/folder/x.safetensors", first, {}), ErrorCode::IO, "cannot create");
  CHECK_THROWS(read_safetensors(dir), ErrorCode::IO, "not a regular file");
  { std::ofstream(dir + "/zero.safetensors"); }
  CHECK_THROWS(read_safetensors(dir + "/zero.safetensors"), ErrorCode::Format, "zero.safetensors");
  // Nothing but the two files is left behind: no temporaries.
  int entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string name = entry.path().filename().string();
    CHECK(name == "model.safetensors" || name == "zero.safetensors");
    ++entries;
  }
  CHECK_EQ(entries, 2);
  std::filesystem::remove_all(dir);
}

int main() { return run_all(); }
