// Config: a flat, ordered map from key to value, both strings (DESIGN.md:
// models are built by name from a flat key=value config). The same keys are
// used on the command line (`--set dim=128`), in config files (`dim = 128`
// lines, `#` starts a comment) and in checkpoint metadata (to_string()), so a
// run can always be rebuilt from its checkpoint.
//
// Values are stored as text and converted when read: the typed getters raise
// cf::Error naming the key and the value when the text is not of that type.
// A key may carry a one-line doc, so a model's default Config documents its
// own keys (`cf models` lists them).
#pragma once
#include <cstdint>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace cf {

class Config {
 public:
  Config() = default;

  // Parses `key = value` lines; blank lines and comments are skipped (a `#`
  // at a line's start or after a space or tab starts one; `run#2` is a
  // value). A key given twice is an error naming both lines.
  // `source` (a file name, "--set") names the origin in error messages.
  static Config parse(const std::string& text, const std::string& source = "config");
  static Config parse(std::istream& in, const std::string& source = "config");
  // Parses the file at `path`; errors name it, and `kind` ("config", "recipe").
  static Config read_file(const std::string& path, const std::string& kind);

  // Sets a value; a new key is appended, an existing one keeps its place.
  Config& set(const std::string& key, const std::string& value);
  Config& set(const std::string& key, const char* value);
  Config& set(const std::string& key, int64_t value);
  Config& set(const std::string& key, int value);
  Config& set(const std::string& key, double value);
  Config& set(const std::string& key, bool value);
  // `key=value` as given to --set.
  Config& set_assignment(const std::string& assignment);
  // Sets a value and its one-line doc (for a model's defaults).
  template <class T>
  Config& define(const std::string& key, T value, const std::string& doc) {
    set(key, value);
    entries_[index_of(key)].doc = doc;
    return *this;
  }

  bool has(const std::string& key) const;
  std::vector<std::string> keys() const;  // in insertion order
  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  const std::string& doc(const std::string& key) const;

  // Typed getters; a missing key or a value of the wrong type is an error.
  const std::string& get_string(const std::string& key) const;
  int64_t get_int(const std::string& key) const;
  double get_float(const std::string& key) const;
  bool get_bool(const std::string& key) const;  // true/false, 1/0, yes/no, on/off

  // `defaults` with this config's values laid over it. Every key of this
  // config must exist in `defaults`; otherwise the error names the key,
  // suggests the closest valid one and lists them all. `owner` names what
  // the keys belong to ("model vit_lite_cpu").
  Config resolved_against(const Config& defaults, const std::string& owner) const;

  // `key = value` lines in order; Config::parse(to_string()) gives it back.
  std::string to_string() const;

  bool operator==(const Config& other) const;
  bool operator!=(const Config& other) const { return !(*this == other); }

 private:
  struct Entry {
    std::string key, value, doc;
  };
  size_t index_of(const std::string& key) const;  // size() when absent
  const Entry& entry(const std::string& key) const;
  std::vector<Entry> entries_;
};

// The candidate closest to `word` by edit distance ("" when none is close),
// for "did you mean" hints.
std::string closest_match(const std::string& word, const std::vector<std::string>& candidates);

// The error a model gives for a value it cannot use:
//   config: key "KEY" has value "VALUE"; WHY
// (values longer than 60 characters are cut to 57 and "...").
[[noreturn]] void bad_value(const Config& c, const std::string& key, const std::string& why);

// `text` read whole as a number (strtod: "3x", "" and out-of-range values
// are not), or nothing. Config::get_float and the readers of numbers in
// metadata and CSV files give their own messages around it.
std::optional<double> parse_number(const std::string& text);

// `text` as Config::get_bool reads it (true, 1, yes, on; false, 0, no, off;
// any case), or nothing.
std::optional<bool> parse_bool(const std::string& text);

// Whether two spellings are one value, as a run reads it: numbers as numbers
// (0.0010 is 0.001), booleans as booleans (yes is 1 is true), and lists item
// by item (1, 2 is 1,2).
bool same_value(const std::string& a, const std::string& b);

// `s` without the spaces, tabs and line ends around it.
std::string trim(const std::string& s);

}  // namespace cf
