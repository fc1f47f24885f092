#include "train/json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace cf {

Json Json::make_string(std::string s) {
  Json j;
  j.type = Type::String;
  j.string = std::move(s);
  return j;
}

Json Json::make_integer(int64_t i) {
  Json j;
  j.type = Type::Integer;
  j.integer = i;
  return j;
}

Json Json::make_array(std::vector<Json> items) {
  Json j;
  j.type = Type::Array;
  j.array = std::move(items);
  return j;
}

const Json* Json::find(const std::string& key) const {
  for (const auto& [k, v] : object)
    if (k == key) return &v;
  return nullptr;
}

double Json::as_number() const {
  if (type == Type::Integer) return double(integer);
  CF_CHECK(type == Type::Number, "JSON: expected a number, found " << type_name());
  return number;
}

const char* Json::type_name() const {
  switch (type) {
    case Type::Object: return "object";
    case Type::Array: return "array";
    case Type::String: return "string";
    case Type::Integer: return "integer";
    case Type::Number: return "number";
    case Type::Bool: return "boolean";
    case Type::Null: return "null";
  }
  return "?";
}

JsonError::JsonError(const std::string& why, size_t at)
    : Error("at byte " + std::to_string(at) + ": " + why), reason(why), offset(at) {}

namespace {

// Recursive descent over the text; `pos` is the next unread byte.
class Parser {
 public:
  explicit Parser(const std::string& text) : s_(text) {}

  Json document() {
    Json v = value(0);
    skip_space();
    if (pos_ != s_.size()) fail("unexpected text after the JSON value");
    return v;
  }

 private:
  // Nesting deep enough to overflow the stack is not a header.
  static constexpr int kMaxDepth = 64;

  [[noreturn]] void fail(const std::string& message) const { throw JsonError(message, pos_); }

  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r'))
      ++pos_;
  }

  void expect(char c) {
    skip_space();
    if (pos_ >= s_.size()) fail(std::string("expected '") + c + "', found the end of the text");
    if (s_[pos_] != c) fail(std::string("expected '") + c + "', found '" + s_[pos_] + "'");
    ++pos_;
  }

  bool next_is(char c) {
    skip_space();
    return pos_ < s_.size() && s_[pos_] == c;
  }

  Json value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 64 levels");
    skip_space();
    if (pos_ >= s_.size()) fail("expected a value, found the end of the text");
    const char c = s_[pos_];
    if (c == '{') return object(depth);
    if (c == '[') return array(depth);
    if (c == '"') return Json::make_string(string());
    if (c == '-' || (c >= '0' && c <= '9')) return integer();
    for (const char* word : {"true", "false", "null"})
      if (s_.compare(pos_, std::strlen(word), word) == 0) {
        pos_ += std::strlen(word);
        Json j;
        j.type = word[0] == 'n' ? Json::Type::Null : Json::Type::Bool;
        j.boolean = word[0] == 't';
        return j;
      }
    fail(std::string("unexpected '") + c + "'");
  }

  Json object(int depth) {
    Json j;
    expect('{');
    if (next_is('}')) {
      ++pos_;
      return j;
    }
    while (true) {
      if (!next_is('"')) fail("expected a string key");
      const size_t key_start = pos_;
      std::string key = string();
      if (j.find(key)) {
        pos_ = key_start;
        fail("duplicate key \"" + key + "\"");
      }
      expect(':');
      j.object.emplace_back(std::move(key), value(depth + 1));
      if (!next_is(',')) break;
      ++pos_;
    }
    expect('}');
    return j;
  }

  Json array(int depth) {
    Json j = Json::make_array({});
    expect('[');
    if (next_is(']')) {
      ++pos_;
      return j;
    }
    while (true) {
      j.array.push_back(value(depth + 1));
      if (!next_is(',')) break;
      ++pos_;
    }
    expect(']');
    return j;
  }

  Json integer() {
    const size_t start = pos_;
    bool negative = s_[pos_] == '-';
    if (negative) ++pos_;
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') fail("expected a digit");
    uint64_t value = 0;
    const uint64_t limit = negative ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX);
    while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9') {
      const uint64_t digit = uint64_t(s_[pos_] - '0');
      if (value > (limit - digit) / 10) {
        pos_ = start;
        fail("integer out of range");
      }
      value = value * 10 + digit;
      ++pos_;
    }
    if (pos_ < s_.size() && (s_[pos_] == '.' || s_[pos_] == 'e' || s_[pos_] == 'E')) {
      // A fraction or exponent: not exact, read as a double.
      char* end = nullptr;
      Json j;
      j.type = Json::Type::Number;
      j.number = std::strtod(s_.c_str() + start, &end);
      if (end == s_.c_str() + pos_ || !std::isfinite(j.number)) {
        pos_ = start;
        fail("malformed number");
      }
      pos_ = size_t(end - s_.c_str());
      return j;
    }
    return Json::make_integer(negative ? int64_t(0 - value) : int64_t(value));
  }

  uint32_t hex4() {
    if (pos_ + 4 > s_.size()) fail("truncated \\u escape");
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= uint32_t(c - '0');
      else if (c >= 'a' && c <= 'f') v |= uint32_t(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') v |= uint32_t(c - 'A' + 10);
      else fail("bad hex digit in \\u escape");
    }
    return v;
  }

  static void append_utf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  std::string string() {
    expect('"');
    std::string out;
    while (true) {
      if (pos_ >= s_.size()) fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) {
        --pos_;
        fail("control character in a string");
      }
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) fail("unterminated string");
      const char e = s_[pos_++];
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
            if (pos_ + 2 > s_.size() || s_[pos_] != '\\' || s_[pos_ + 1] != 'u')
              fail("unpaired surrogate in \\u escape");
            pos_ += 2;
            const uint32_t low = hex4();
            if (low < 0xDC00 || low >= 0xE000) fail("unpaired surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
          }
          append_utf8(out, cp);
          break;
        }
        default:
          --pos_;
          fail(std::string("bad escape '\\") + e + "'");
      }
    }
  }

  const std::string& s_;
  size_t pos_ = 0;
};

}  // namespace

Json parse_json(const std::string& text) { return Parser(text).document(); }

std::string json_quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
          out += buf;
        } else {
          out += c;  // UTF-8 passes through
        }
    }
  }
  return out + "\"";
}

std::string to_json(const Json& v) {
  switch (v.type) {
    case Json::Type::String: return json_quote(v.string);
    case Json::Type::Integer: return std::to_string(v.integer);
    case Json::Type::Number: {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%.17g", v.number);
      return buf;
    }
    case Json::Type::Bool: return v.boolean ? "true" : "false";
    case Json::Type::Null: return "null";
    case Json::Type::Array: {
      std::string out = "[";
      for (size_t i = 0; i < v.array.size(); ++i) out += (i ? "," : "") + to_json(v.array[i]);
      return out + "]";
    }
    case Json::Type::Object: {
      std::string out = "{";
      for (size_t i = 0; i < v.object.size(); ++i)
        out += (i ? "," : "") + json_quote(v.object[i].first) + ":" + to_json(v.object[i].second);
      return out + "}";
    }
  }
  return "";
}

}  // namespace cf
