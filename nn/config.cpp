#include "nn/config.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "autograd/error.h"

namespace cf {

namespace {

// Where a comment starts: at a '#' that begins the line or follows a space
// or tab, so a value may hold one ("data = /mnt/run#2").
size_t comment_start(const std::string& line) {
  for (size_t i = line.find('#'); i != std::string::npos; i = line.find('#', i + 1))
    if (i == 0 || line[i - 1] == ' ' || line[i - 1] == '\t') return i;
  return std::string::npos;
}

std::string lower(std::string s) {
  for (char& c : s) c = char(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Keys are identifiers with dots ("optim.lr"), so they never contain the
// characters that the file and command-line syntaxes use.
bool valid_key(const std::string& key) {
  if (key.empty()) return false;
  for (char c : key)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

// Levenshtein distance, for "did you mean".
size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
      diagonal = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::string closest_match(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  size_t best_distance = std::string::npos;
  for (const std::string& c : candidates) {
    size_t d = edit_distance(word, c);
    if (d < best_distance) {
      best_distance = d;
      best = c;
    }
  }
  // Farther than half the word away is not a typo but a different word.
  return best_distance <= std::max<size_t>(2, word.size() / 2) ? best : "";
}

Config Config::parse(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  return parse(in, source);
}

Config Config::parse(std::istream& in, const std::string& source) {
  Config config;
  std::map<std::string, int> line_of;  // a key given twice is a mistake, not an override
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    line = trim(line.substr(0, comment_start(line)));
    if (line.empty()) continue;
    size_t eq = line.find('=');
    CF_CHECK(eq != std::string::npos, source << ":" << number << ": expected `key = value`, got \""
                                             << line << "\"");
    std::string key = trim(line.substr(0, eq));
    CF_CHECK(valid_key(key), source << ":" << number << ": \"" << key
                                    << "\" is not a valid key (letters, digits, _ . -)");
    const auto [first, fresh] = line_of.emplace(key, number);
    CF_CHECK(fresh, source << ":" << number << ": key \"" << key
                           << "\" is given twice (first on line " << first->second << ")");
    config.set(key, trim(line.substr(eq + 1)));
  }
  CF_CHECK(!in.bad(), source << ": read error");
  return config;
}

Config Config::read_file(const std::string& path, const std::string& kind) {
  // An ifstream opens a folder without complaint on Linux, then reads nothing.
  CF_CHECK(std::filesystem::exists(path),
           "cannot read " << kind << " file " << path << ": no such file");
  CF_CHECK(!std::filesystem::is_directory(path),
           "cannot read " << kind << " file " << path << ": it is a folder");
  std::ifstream in(path);
  CF_CHECK(in, "cannot read " << kind << " file " << path);
  return parse(in, path);
}

Config& Config::set(const std::string& key, const std::string& value) {
  CF_CHECK(valid_key(key), "config: \"" << key << "\" is not a valid key (letters, digits, _ . -)");
  // What to_string writes must read back: no line end, no comment.
  CF_CHECK(value.find('\n') == std::string::npos && comment_start(value) == std::string::npos,
           "config: the value of key \"" << key << "\" may not contain a newline, nor a '#' at "
                                         << "its start or after a space (\"" << value << "\")");
  size_t i = index_of(key);
  if (i == entries_.size())
    entries_.push_back({key, value, ""});
  else
    entries_[i].value = value;
  return *this;
}

Config& Config::set(const std::string& key, const char* value) {
  return set(key, std::string(value));
}
Config& Config::set(const std::string& key, int64_t value) {
  return set(key, std::to_string(value));
}
Config& Config::set(const std::string& key, int value) { return set(key, int64_t(value)); }
Config& Config::set(const std::string& key, double value) {
  // Shortest text that reads back as the same double.
  std::ostringstream os;
  os.precision(17);
  os << value;
  for (int precision = 1; precision < 17; ++precision) {
    std::ostringstream shorter;
    shorter.precision(precision);
    shorter << value;
    if (std::strtod(shorter.str().c_str(), nullptr) == value) return set(key, shorter.str());
  }
  return set(key, os.str());
}
Config& Config::set(const std::string& key, bool value) {
  return set(key, std::string(value ? "true" : "false"));
}

Config& Config::set_assignment(const std::string& assignment) {
  size_t eq = assignment.find('=');
  CF_CHECK(eq != std::string::npos,
           "--set: expected key=value, got \"" << assignment << "\"");
  return set(trim(assignment.substr(0, eq)), trim(assignment.substr(eq + 1)));
}

size_t Config::index_of(const std::string& key) const {
  for (size_t i = 0; i < entries_.size(); ++i)
    if (entries_[i].key == key) return i;
  return entries_.size();
}

const Config::Entry& Config::entry(const std::string& key) const {
  size_t i = index_of(key);
  if (i == entries_.size()) {
    std::string hint = closest_match(key, keys());
    CF_CHECK(false, "config: no key \"" << key << "\""
                                        << (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)"));
  }
  return entries_[i];
}

bool Config::has(const std::string& key) const { return index_of(key) != entries_.size(); }

std::vector<std::string> Config::keys() const {
  std::vector<std::string> out;
  for (const Entry& e : entries_) out.push_back(e.key);
  return out;
}

const std::string& Config::doc(const std::string& key) const { return entry(key).doc; }

const std::string& Config::get_string(const std::string& key) const { return entry(key).value; }

int64_t Config::get_int(const std::string& key) const {
  const std::string& v = entry(key).value;
  errno = 0;
  char* end = nullptr;
  long long x = std::strtoll(v.c_str(), &end, 10);
  CF_CHECK(!v.empty() && *end == '\0' && errno == 0,
           "config: key \"" << key << "\" has value \"" << v << "\", which is not an integer");
  return int64_t(x);
}

double Config::get_float(const std::string& key) const {
  const std::optional<double> x = parse_number(entry(key).value);
  CF_CHECK(x, "config: key \"" << key << "\" has value \"" << entry(key).value
                                << "\", which is not a number");
  return *x;
}

std::string trim(const std::string& s) {
  const char* space = " \t\r\n";
  size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  size_t end = s.find_last_not_of(space);
  return s.substr(begin, end - begin + 1);
}

std::optional<bool> parse_bool(const std::string& text) {
  const std::string v = lower(text);
  if (v == "true" || v == "1" || v == "yes" || v == "on") return true;
  if (v == "false" || v == "0" || v == "no" || v == "off") return false;
  return std::nullopt;
}

bool same_value(const std::string& a, const std::string& b) {
  const std::optional<double> x = parse_number(a), y = parse_number(b);
  if (x && y) return *x == *y;
  const std::optional<bool> p = parse_bool(a), q = parse_bool(b);
  if (p && q) return *p == *q;
  if (a.find(',') == std::string::npos && b.find(',') == std::string::npos) return a == b;
  std::stringstream as(a), bs(b);
  std::string u, v;
  while (std::getline(as, u, ','))
    if (!std::getline(bs, v, ',') || !same_value(trim(u), trim(v))) return false;
  return !std::getline(bs, v, ',');
}

std::optional<double> parse_number(const std::string& text) {
  errno = 0;
  char* end = nullptr;
  const double x = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || errno != 0) return std::nullopt;
  return x;
}

void bad_value(const Config& c, const std::string& key, const std::string& why) {
  std::string value = c.get_string(key);
  if (value.size() > 60) value = value.substr(0, 57) + "...";
  throw Error("config: key \"" + key + "\" has value \"" + value + "\"; " + why);
}

bool Config::get_bool(const std::string& key) const {
  const std::optional<bool> v = parse_bool(entry(key).value);
  CF_CHECK(v, "config: key \"" << key << "\" has value \"" << entry(key).value
                               << "\", which is not a boolean (true/false)");
  return *v;
}

Config Config::resolved_against(const Config& defaults, const std::string& owner) const {
  Config out = defaults;
  for (const Entry& e : entries_) {
    if (!defaults.has(e.key)) {
      std::vector<std::string> valid = defaults.keys();
      std::string hint = closest_match(e.key, valid);
      std::ostringstream list;
      for (size_t i = 0; i < valid.size(); ++i) list << (i ? ", " : "") << valid[i];
      CF_CHECK(false, owner << " has no key \"" << e.key << "\""
                            << (hint.empty() ? "" : " (did you mean \"" + hint + "\"?)")
                            << "; valid keys: " << list.str());
    }
    out.set(e.key, e.value);
  }
  return out;
}

std::string Config::to_string() const {
  std::ostringstream os;
  for (const Entry& e : entries_) os << e.key << " = " << e.value << "\n";
  return os.str();
}

bool Config::operator==(const Config& other) const {
  if (entries_.size() != other.entries_.size()) return false;
  for (const Entry& e : entries_)
    if (!other.has(e.key) || other.get_string(e.key) != e.value) return false;
  return true;
}

}  // namespace cf
