// NumPy's .npy format, the small subset CIFAR-10-C needs: uint8 and float32
// arrays (int64 too when reading, since other tools often save labels so), C
// order, little-endian. Reads header versions 1.0, 2.0 and 3.0; writes 1.0.
//
// A file is: the magic "\x93NUMPY", a major and a minor version byte, the
// header length (2 bytes little-endian in 1.0, 4 bytes in 2.0/3.0), then a
// Python dict literal such as
//   {'descr': '|u1', 'fortran_order': False, 'shape': (50000, 32, 32, 3), }
// padded with spaces and a newline so the data starts at a multiple of 64,
// then the raw data.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace cf::data {

enum class NpyDtype { uint8, float32, int64 };

const char* npy_dtype_name(NpyDtype dtype);  // "uint8", "float32", "int64"
int64_t npy_dtype_size(NpyDtype dtype);      // bytes per element

struct NpyHeader {
  NpyDtype dtype = NpyDtype::uint8;
  std::vector<int64_t> shape;  // () for a scalar
  int64_t data_offset = 0;     // where the data starts in the file
  int64_t numel() const;
};

struct NpyArray {
  NpyHeader header;
  std::vector<uint8_t> bytes;             // numel * dtype size bytes, little-endian
  std::vector<float> to_float32() const;  // requires dtype float32
  std::vector<int64_t> to_int64() const;  // any integer dtype, widened
};

// Parses the header and checks that the file holds exactly the data it
// announces. cf::Error naming the file on anything unexpected.
NpyHeader read_npy_header(const std::string& path);
NpyArray read_npy(const std::string& path);
// The same from a whole .npy file in memory; `name` names it in errors.
NpyArray parse_npy(const uint8_t* data, size_t size, const std::string& name);

// Throws, naming the file, the expected and the found dtype and shape, unless
// `header` matches. An entry -1 in `shape` matches any size.
void require_npy(const NpyHeader& header, const std::string& path, NpyDtype dtype,
                 const std::vector<int64_t>& shape);

// Written whole or not at all (data/atomic_file.h): an error leaves an
// earlier file at `path` as it was.
void write_npy(const std::string& path, const uint8_t* data, const std::vector<int64_t>& shape);
void write_npy(const std::string& path, const float* data, const std::vector<int64_t>& shape);

}  // namespace cf::data
