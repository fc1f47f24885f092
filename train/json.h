// A tiny JSON reader and writer: objects, arrays, strings, integers (kept
// exact, as safetensors offsets need), other numbers, booleans and null.
// Objects keep their keys in file order. Parse errors give the byte offset.
#pragma once
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "autograd/error.h"

namespace cf {

struct Json {
  enum class Type { Object, Array, String, Integer, Number, Bool, Null };
  Type type = Type::Object;
  std::string string;
  int64_t integer = 0;
  double number = 0;     // Type::Number
  bool boolean = false;  // Type::Bool
  std::vector<Json> array;
  std::vector<std::pair<std::string, Json>> object;

  static Json make_string(std::string s);
  static Json make_integer(int64_t i);
  static Json make_array(std::vector<Json> items);
  // The member named `key` of an object, or nullptr.
  const Json* find(const std::string& key) const;
  const char* type_name() const;  // "object", "array", "string", "integer", ...
  // An Integer's or a Number's value; cf::Error for any other type.
  double as_number() const;
};

struct JsonError : Error {
  JsonError(const std::string& reason, size_t offset);
  std::string reason;  // what is wrong, without the offset
  size_t offset;       // byte offset in the parsed text
};

// The whole of `text` must be one value (whitespace around it is allowed).
Json parse_json(const std::string& text);
std::string to_json(const Json& value);  // compact, no whitespace
std::string json_quote(const std::string& s);  // "..." with escapes

}  // namespace cf
