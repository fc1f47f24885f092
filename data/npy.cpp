#include "data/npy.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

#include "autograd/error.h"
#include "autograd/tensor.h"
#include "data/atomic_file.h"

namespace cf::data {
namespace {

const char kMagic[] = "\x93NUMPY";  // 6 bytes, then the version

std::string descr_of(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::uint8:
      return "|u1";
    case NpyDtype::float32:
      return "<f4";
    case NpyDtype::int64:
      return "<i8";
  }
  return "";
}

// The text of the value after `'key':` in the header dict: a whole tuple
// "(...)", or everything up to the next ',' or '}'.
std::string dict_value(const std::string& dict, const std::string& key, const std::string& path) {
  const size_t k = dict.find("'" + key + "'");
  CF_CHECK(k != std::string::npos, path << ": .npy header has no '" << key << "': " << dict);
  size_t p = dict.find(':', k);
  CF_CHECK(p != std::string::npos, path << ": .npy header is malformed near '" << key << "'");
  ++p;
  while (p < dict.size() && dict[p] == ' ') ++p;
  const size_t end = dict[p] == '(' ? dict.find(')', p) + 1 : dict.find_first_of(",}", p);
  CF_CHECK(end != std::string::npos && end > p,
           path << ": .npy header is malformed near '" << key << "'");
  return dict.substr(p, end - p);
}

NpyDtype parse_descr(const std::string& value, const std::string& path) {
  // value is a quoted string: '|u1'
  const std::string d = value.size() >= 2 ? value.substr(1, value.size() - 2) : value;
  if (d == "|u1" || d == "<u1" || d == "u1") return NpyDtype::uint8;
  if (d == "<f4") return NpyDtype::float32;
  if (d == "<i8") return NpyDtype::int64;
  CF_CHECK(false,
           path << ": .npy dtype '" << d
                << "' is not supported (expected uint8 '|u1', float32 '<f4' or int64 '<i8')");
  return NpyDtype::uint8;
}

std::vector<int64_t> parse_shape(const std::string& value, const std::string& path) {
  CF_CHECK(value.size() >= 2 && value.front() == '(' && value.back() == ')',
           path << ": .npy shape '" << value << "' is not a tuple");
  std::vector<int64_t> shape;
  std::istringstream in(value.substr(1, value.size() - 2));
  std::string item;
  while (std::getline(in, item, ',')) {
    const size_t first = item.find_first_not_of(' ');
    if (first == std::string::npos) continue;  // the empty item after "(5,"
    size_t used = 0;
    long long v = -1;
    try {
      v = std::stoll(item.substr(first), &used);
    } catch (const std::exception&) {
      used = 0;
    }
    CF_CHECK(used > 0 && v >= 0,
             path << ": .npy shape '" << value << "' has a bad entry '" << item << "'");
    shape.push_back(v);
  }
  return shape;
}

// What precedes the header dict: the magic, the version, the dict's length.
constexpr int64_t kPreambleMax = 12;  // 10 bytes in version 1.0, 12 in 2.0/3.0
struct Preamble {
  int64_t prefix = 0;      // where the dict starts
  int64_t header_len = 0;  // the dict's length in bytes
};

// `start` holds the file's first min(file_size, kPreambleMax) bytes, zeros after.
Preamble parse_preamble(const unsigned char* start, int64_t file_size, const std::string& path) {
  CF_CHECK(file_size >= 8 && std::memcmp(start, kMagic, 6) == 0,
           path << ": not a .npy file (no \\x93NUMPY magic at offset 0)");
  const int major = start[6];
  CF_CHECK(major >= 1 && major <= 3, path << ": .npy version " << major << "." << int(start[7])
                                          << " is not supported (1.0, 2.0, 3.0)");
  Preamble pre;
  if (major == 1) {
    pre.header_len = start[8] | (int64_t(start[9]) << 8);
    pre.prefix = 10;
  } else {
    pre.header_len = start[8] | (int64_t(start[9]) << 8) | (int64_t(start[10]) << 16) |
                     (int64_t(start[11]) << 24);
    pre.prefix = 12;
  }
  CF_CHECK(pre.prefix + pre.header_len <= file_size,
           path << ": .npy header (" << pre.header_len << " bytes at offset " << pre.prefix
                << ") runs past the end of the " << file_size << "-byte file");
  return pre;
}

NpyHeader parse_header(const std::string& dict, const Preamble& pre, int64_t file_size,
                       const std::string& path) {
  NpyHeader h;
  h.dtype = parse_descr(dict_value(dict, "descr", path), path);
  CF_CHECK(dict_value(dict, "fortran_order", path) == "False",
           path << ": Fortran-order .npy arrays are not supported; save with C order");
  h.shape = parse_shape(dict_value(dict, "shape", path), path);
  h.data_offset = pre.prefix + pre.header_len;
  // The claimed size is checked against the file before anything is allocated.
  const int64_t count = checked_numel(h.shape);
  CF_CHECK(count >= 0 && count <= (INT64_MAX - h.data_offset) / npy_dtype_size(h.dtype),
           path << ": .npy shape " << shape_str(h.shape) << " of " << npy_dtype_name(h.dtype)
                << " claims more bytes than a 64-bit size can count (corrupt header?)");
  const int64_t expected = h.data_offset + count * npy_dtype_size(h.dtype);
  CF_CHECK(file_size == expected,
           path << ": .npy of " << npy_dtype_name(h.dtype) << " " << shape_str(h.shape)
                << " should be " << expected << " bytes, but the file has " << file_size
                << (file_size < expected ? " (truncated)" : " (trailing bytes)"));
  return h;
}

void write_npy_bytes(const std::string& path, NpyDtype dtype, const void* data,
                     const std::vector<int64_t>& shape) {
  std::ostringstream dict;
  dict << "{'descr': '" << descr_of(dtype) << "', 'fortran_order': False, 'shape': (";
  for (int64_t s : shape) dict << s << (shape.size() == 1 ? "," : ", ");
  std::string d = dict.str();
  if (shape.size() > 1) d.resize(d.size() - 2);  // drop the trailing ", "
  d += "), }";
  // Version 1.0: 10 bytes before the dict; pad so the data is 64-aligned.
  const size_t unpadded = 10 + d.size() + 1;
  d += std::string((64 - unpadded % 64) % 64, ' ') + "\n";
  CF_CHECK(d.size() <= 65535, path << ": .npy header too long for version 1.0");
  const uint16_t len = uint16_t(d.size());
  const char version_and_len[4] = {1, 0, char(len & 0xFF), char(len >> 8)};
  write_atomically(path,
                   {std::string_view(kMagic, 6), std::string_view(version_and_len, 4), d,
                    std::string_view(static_cast<const char*>(data),
                                     size_t(numel(shape) * npy_dtype_size(dtype)))},
                   "write_npy");
}

}  // namespace

const char* npy_dtype_name(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::uint8:
      return "uint8";
    case NpyDtype::float32:
      return "float32";
    case NpyDtype::int64:
      return "int64";
  }
  return "?";
}

int64_t npy_dtype_size(NpyDtype dtype) {
  switch (dtype) {
    case NpyDtype::uint8:
      return 1;
    case NpyDtype::float32:
      return 4;
    case NpyDtype::int64:
      return 8;
  }
  return 0;
}

int64_t NpyHeader::numel() const { return cf::numel(shape); }

NpyHeader read_npy_header(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  CF_CHECK(in, path << ": cannot open for reading");
  const int64_t file_size = int64_t(in.tellg());
  in.seekg(0);
  unsigned char start[kPreambleMax] = {};
  in.read(reinterpret_cast<char*>(start), std::streamsize(std::min<int64_t>(file_size, kPreambleMax)));
  const Preamble pre = parse_preamble(start, file_size, path);
  std::string dict(size_t(pre.header_len), '\0');
  in.seekg(pre.prefix);
  in.read(dict.data(), pre.header_len);
  CF_CHECK(in, path << ": read error in the .npy header");
  return parse_header(dict, pre, file_size, path);
}

NpyArray read_npy(const std::string& path) {
  NpyArray a;
  a.header = read_npy_header(path);
  const int64_t bytes = a.header.numel() * npy_dtype_size(a.header.dtype);
  check_fits_in_memory(bytes, path + ": the .npy data");
  a.bytes.resize(size_t(bytes));
  std::ifstream in(path, std::ios::binary);
  in.seekg(a.header.data_offset);
  in.read(reinterpret_cast<char*>(a.bytes.data()), std::streamsize(a.bytes.size()));
  CF_CHECK(in, path << ": read error in the .npy data");
  return a;
}

NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& name) {
  unsigned char start[kPreambleMax] = {};
  std::memcpy(start, data, std::min<size_t>(size, kPreambleMax));
  const Preamble pre = parse_preamble(start, int64_t(size), name);
  const std::string dict(reinterpret_cast<const char*>(data) + pre.prefix, size_t(pre.header_len));
  NpyArray a;
  a.header = parse_header(dict, pre, int64_t(size), name);
  a.bytes.assign(data + a.header.data_offset, data + size);
  return a;
}

std::vector<float> NpyArray::to_float32() const {
  CF_CHECK(header.dtype == NpyDtype::float32,
           "npy: to_float32 on a " << npy_dtype_name(header.dtype) << " array");
  std::vector<float> out(bytes.size() / 4);
  // An empty array's data() may be null, which memcpy may not be given.
  if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  return out;
}

std::vector<int64_t> NpyArray::to_int64() const {
  std::vector<int64_t> out(size_t(header.numel()));
  if (header.dtype == NpyDtype::uint8) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = bytes[i];
  } else {
    CF_CHECK(header.dtype == NpyDtype::int64,
             "npy: to_int64 on a " << npy_dtype_name(header.dtype) << " array");
    if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
  }
  return out;
}

void require_npy(const NpyHeader& header, const std::string& path, NpyDtype dtype,
                 const std::vector<int64_t>& shape) {
  bool ok = header.dtype == dtype && header.shape.size() == shape.size();
  for (size_t i = 0; ok && i < shape.size(); ++i) ok = shape[i] < 0 || shape[i] == header.shape[i];
  std::ostringstream want;
  want << "[";
  for (size_t i = 0; i < shape.size(); ++i)
    want << (i ? ", " : "") << (shape[i] < 0 ? std::string("any") : std::to_string(shape[i]));
  want << "]";
  CF_CHECK(ok, path << ": expected a " << npy_dtype_name(dtype) << " array of shape " << want.str()
                    << ", found " << npy_dtype_name(header.dtype) << " "
                    << shape_str(header.shape));
}

void write_npy(const std::string& path, const uint8_t* data, const std::vector<int64_t>& shape) {
  write_npy_bytes(path, NpyDtype::uint8, data, shape);
}

void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape) {
  write_npy_bytes(path, NpyDtype::float32, data, shape);
}

}  // namespace cf::data
