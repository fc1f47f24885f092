#include "train/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <tuple>

#include "autograd/error.h"
#include "data/atomic_file.h"
#include "nn/registry.h"
#include "train/crc32.h"
#include "train/json.h"

namespace cf {

namespace {

bool host_is_little_endian() {
  const uint32_t one = 1;
  unsigned char first;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// n 4-byte values between host order and little-endian bytes (the same
// operation both ways: a byte reversal on big-endian hosts).
void copy_little_endian(const void* src, void* dst, int64_t n) {
  std::memcpy(dst, src, size_t(n) * 4);
  if (host_is_little_endian()) return;
  auto* b = static_cast<unsigned char*>(dst);
  for (int64_t i = 0; i < n; ++i, b += 4) {
    std::swap(b[0], b[3]);
    std::swap(b[1], b[2]);
  }
}

Json shape_array(const Shape& shape) {
  std::vector<Json> dims;
  for (int64_t d : shape) dims.push_back(Json::make_integer(d));
  return Json::make_array(dims);
}

// What the checksum covers: every tensor's name, shape and little-endian
// bytes, in name order, and every metadata entry but the checksum itself.
// Content rather than layout, so a file that another tool re-saves with its
// tensors in another order keeps a valid checksum.
const char* const kChecksumKey = "cf_checksum";

struct Span {
  std::string name;
  Shape shape;
  const char* bytes;
  int64_t size;
};

std::string content_checksum(std::vector<Span> spans, const Metadata& metadata) {
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) { return a.name < b.name; });
  uint32_t crc = 0;
  auto add_text = [&](const std::string& text) { crc = crc32(text.c_str(), text.size() + 1, crc); };
  for (const Span& s : spans) {
    add_text(s.name);
    add_text(shape_str(s.shape));
    crc = crc32(s.bytes, size_t(s.size), crc);
  }
  for (const auto& [key, value] : metadata) {  // std::map: in key order
    if (key == kChecksumKey) continue;
    add_text(key);
    add_text(value);
  }
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", unsigned(crc));
  return std::string("crc32:") + hex;
}

// The whole file, after checking that it fits in memory: a file larger than
// that would otherwise end in std::bad_alloc halfway through reading it.
std::string read_file(const std::string& path) {
  // A folder opens as a stream whose end is at 2^63 - 1.
  std::error_code ec;
  CF_CHECK(!std::filesystem::is_directory(path, ec),
           "load_safetensors: " << path << " is a folder, not a file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  CF_CHECK(in, "load_safetensors: cannot open " << path);
  const std::streamoff size = in.tellg();
  CF_CHECK(size >= 0, "load_safetensors: cannot tell the size of " << path);
  check_fits_in_memory(int64_t(size), "load_safetensors: reading " + path);
  std::string contents(size_t(size), '\0');
  in.seekg(0);
  in.read(contents.data(), size);
  CF_CHECK(in, "load_safetensors: reading " << path << " failed");
  return contents;
}

}  // namespace

std::string serialize_safetensors(const NamedTensors& tensors, const Metadata& metadata) {
  CF_CHECK(!metadata.count(kChecksumKey),
           "save_safetensors: metadata key \"" << kChecksumKey << "\" is reserved for the checksum");
  std::set<std::string> seen;
  int64_t size = 0;
  for (const auto& [name, t] : tensors) {
    CF_CHECK(name != "__metadata__" && seen.insert(name).second,
             "save_safetensors: tensor name \"" << name << "\" is reserved or repeated");
    CF_CHECK(t.defined(), "save_safetensors: tensor \"" << name << "\" is undefined");
    size += 4 * t.numel();
  }
  std::string data(size_t(size), '\0');
  std::vector<Span> spans;
  int64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    copy_little_endian(t.data(), &data[size_t(offset)], t.numel());
    spans.push_back({name, t.shape(), data.data() + offset, 4 * t.numel()});
    offset += 4 * t.numel();
  }

  Json header, meta;
  for (const auto& [k, v] : metadata) meta.object.emplace_back(k, Json::make_string(v));
  meta.object.emplace_back(kChecksumKey, Json::make_string(content_checksum(spans, metadata)));
  header.object.emplace_back("__metadata__", meta);
  offset = 0;
  for (const auto& [name, t] : tensors) {
    Json entry;
    entry.object.emplace_back("dtype", Json::make_string("F32"));
    entry.object.emplace_back("shape", shape_array(t.shape()));
    entry.object.emplace_back("data_offsets", Json::make_array({Json::make_integer(offset),
                                                                Json::make_integer(offset + 4 * t.numel())}));
    header.object.emplace_back(name, entry);
    offset += 4 * t.numel();
  }
  // Spaces pad the header so that the data starts 8-byte aligned, as the
  // reference writer does.
  std::string json = to_json(header);
  json.append((8 - json.size() % 8) % 8, ' ');

  std::string bytes(8, '\0');
  const uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((n >> (8 * i)) & 0xFF);
  bytes.reserve(8 + json.size() + data.size());
  return bytes.append(json).append(data);
}

Safetensors parse_safetensors(const std::string& bytes, const std::string& name) {
  auto fail = [&](const std::string& message) { throw Error(name + ": " + message); };
  const uint64_t size = bytes.size();
  if (size < 8)
    fail("truncated: " + std::to_string(size) + " bytes, fewer than the 8 of the header length");
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[size_t(i)]);
  if (n > size - 8)
    fail("header length " + std::to_string(n) + " (bytes 0-7) runs past the end of the file (" +
         std::to_string(size) + " bytes)");

  Json header;
  try {
    header = parse_json(bytes.substr(8, size_t(n)));
  } catch (const JsonError& e) {
    fail("malformed JSON header at byte " + std::to_string(8 + e.offset) + ": " + e.reason);
  }
  if (header.type != Json::Type::Object)
    fail(std::string("the header is a JSON ") + header.type_name() + ", expected an object");

  const uint64_t data_start = 8 + n, data_size = size - data_start;
  Safetensors out;
  std::vector<std::tuple<int64_t, int64_t, std::string>> spans;  // begin, end, tensor
  std::vector<Span> contents;
  for (const auto& [key, entry] : header.object) {
    if (key == "__metadata__") {
      if (entry.type != Json::Type::Object)
        fail(std::string("__metadata__ is a JSON ") + entry.type_name() + ", expected an object");
      for (const auto& [k, v] : entry.object) {
        if (v.type != Json::Type::String)
          fail("__metadata__ value of \"" + k + "\" is a JSON " + v.type_name() + ", expected a string");
        out.metadata[k] = v.string;
      }
      continue;
    }
    const std::string where = "tensor \"" + key + "\"";
    if (entry.type != Json::Type::Object) fail(where + ": entry is not a JSON object");
    const Json* dtype = entry.find("dtype");
    const Json* shape = entry.find("shape");
    const Json* offsets = entry.find("data_offsets");
    if (!dtype || !shape || !offsets) fail(where + ": entry needs dtype, shape and data_offsets");
    if (dtype->type != Json::Type::String) fail(where + ": dtype is not a string");
    if (dtype->string != "F32")
      fail(where + ": dtype \"" + dtype->string + "\" is not supported (only F32)");

    if (shape->type != Json::Type::Array) fail(where + ": shape is not an array");
    Shape dims;
    for (const Json& d : shape->array) {
      if (d.type != Json::Type::Integer || d.integer < 0)
        fail(where + ": shape has an entry that is not a non-negative integer");
      dims.push_back(d.integer);
    }
    // Elements, counted so that no product overflows: a tensor larger than
    // the data section is an error anyway.
    uint64_t count = 1;
    const uint64_t most = data_size / 4;
    for (int64_t d : dims) {
      if (d == 0) {
        count = 0;
        break;
      }
      count = count > most / uint64_t(d) ? most + 1 : count * uint64_t(d);
    }
    if (count > most)
      fail(where + ": shape " + shape_str(dims) + " does not fit in the data section (" +
           std::to_string(data_size) + " bytes)");

    if (offsets->type != Json::Type::Array || offsets->array.size() != 2 ||
        offsets->array[0].type != Json::Type::Integer || offsets->array[1].type != Json::Type::Integer)
      fail(where + ": data_offsets is not an array of two integers");
    const int64_t begin = offsets->array[0].integer, end = offsets->array[1].integer;
    if (begin < 0 || end < begin || uint64_t(end) > data_size)
      fail(where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
           "] are out of range: the data section has " + std::to_string(data_size) +
           " bytes (file bytes " + std::to_string(data_start) + " to " + std::to_string(size) + ")");
    if (uint64_t(end - begin) != 4 * count)
      fail(where + ": shape " + shape_str(dims) + " of F32 needs " + std::to_string(4 * count) +
           " bytes but data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) +
           "] hold " + std::to_string(end - begin));

    Tensor t = Tensor::empty(dims);
    copy_little_endian(bytes.data() + data_start + uint64_t(begin), t.data(), t.numel());
    out.tensors.emplace_back(key, t);
    spans.emplace_back(begin, end, key);
    contents.push_back({key, dims, bytes.data() + data_start + uint64_t(begin), end - begin});
  }

  // The tensors must tile the data section exactly (no gaps, no overlaps).
  std::sort(spans.begin(), spans.end());
  int64_t expected = 0;
  for (const auto& [begin, end, tensor] : spans) {
    if (begin != expected)
      fail("tensor \"" + tensor + "\" starts at data byte " + std::to_string(begin) +
           " (file byte " + std::to_string(data_start + uint64_t(begin)) + ") but the previous data ends at " +
           std::to_string(expected) + ": a gap or an overlap");
    expected = end;
  }
  if (uint64_t(expected) != data_size)
    fail(std::to_string(data_size - uint64_t(expected)) + " bytes after the last tensor (from file byte " +
         std::to_string(data_start + uint64_t(expected)) + ") belong to no tensor");

  // Files written by other tools have no checksum; ours are checked.
  auto recorded = out.metadata.find(kChecksumKey);
  if (recorded != out.metadata.end()) {
    const std::string actual = content_checksum(contents, out.metadata);
    if (actual != recorded->second)
      fail("checksum mismatch: the metadata records " + recorded->second + " but the contents give " +
           actual + "; the file was damaged after it was written (a partial copy, a disk error or an edit)");
    out.metadata.erase(recorded);
  }
  return out;
}

void save_safetensors(const std::string& path, const NamedTensors& tensors, const Metadata& metadata) {
  data::write_atomically(path, {serialize_safetensors(tensors, metadata)}, "save_safetensors");
}

Safetensors load_safetensors(const std::string& path) {
  return parse_safetensors(read_file(path), path);
}

void save_checkpoint(const std::string& path, const Model& model, int64_t step, const Metadata& extra) {
  CF_CHECK(!model.name().empty(),
           "save_checkpoint: the model has no registered name (build it with build_model)");
  Metadata metadata = extra;
  metadata["format"] = "pt";  // what safetensors.torch writes
  metadata["model"] = model.name();
  metadata["config"] = model.config().to_string();
  metadata["step"] = std::to_string(step);
  save_safetensors(path, model.state_dict(), metadata);
}

Checkpoint read_checkpoint(const std::string& path) {
  Safetensors file = load_safetensors(path);
  for (const char* key : {"model", "config", "step"})
    CF_CHECK(file.metadata.count(key),
             path << ": not a checkpoint of this library: the metadata has no \"" << key << "\"");
  Checkpoint c;
  c.model = file.metadata.at("model");
  c.config = Config::parse(file.metadata.at("config"), path + " (metadata \"config\")");
  const std::string& step = file.metadata.at("step");
  char* end = nullptr;
  c.step = std::strtoll(step.c_str(), &end, 10);
  CF_CHECK(!step.empty() && *end == '\0',
           path << ": metadata \"step\" is \"" << step << "\", not an integer");
  c.tensors = std::move(file.tensors);
  c.metadata = std::move(file.metadata);
  return c;
}

namespace {
void load_into(const std::string& path, Module& module, const NamedTensors& tensors) {
  try {
    module.load_state_dict(tensors);
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}
}  // namespace

void load_weights(const std::string& path, Module& module) {
  load_into(path, module, split_optimizer_state(load_safetensors(path).tensors).first);
}

std::unique_ptr<Model> load_model(const std::string& path) {
  Checkpoint c = read_checkpoint(path);
  std::unique_ptr<Model> model = build_model(c.model, c.config);
  load_into(path, *model, split_optimizer_state(c.tensors).first);
  return model;
}

std::pair<NamedTensors, NamedTensors> split_optimizer_state(const NamedTensors& tensors) {
  NamedTensors weights, state;
  for (const auto& [name, tensor] : tensors)
    if (name.rfind(kOptimizerPrefix, 0) == 0)
      state.emplace_back(name.substr(kOptimizerPrefix.size()), tensor);
    else
      weights.emplace_back(name, tensor);
  return {weights, state};
}

}  // namespace cf
