#include "train/args.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

#include "autograd/error.h"
#include "nn/config.h"

namespace cf {

bool Args::has(const std::string& name) const {
  return values_.count(name) > 0 || (defaults_.count(name) && !defaults_.at(name).empty());
}

std::string Args::str(const std::string& name) const {
  auto it = values_.find(name);
  if (it != values_.end()) return it->second.back();
  auto d = defaults_.find(name);
  return d == defaults_.end() ? "" : d->second;
}

int64_t Args::integer(const std::string& name) const {
  const std::string v = str(name);
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(v.c_str(), &end, 10);
  CF_CHECK(!v.empty() && *end == '\0', "--" << name << ": '" << v << "' is not an integer");
  CF_CHECK(errno != ERANGE, "--" << name << ": " << v << " does not fit in 64 bits");
  return x;
}

double Args::real(const std::string& name) const {
  const std::string v = str(name);
  const std::optional<double> x = parse_number(v);
  CF_CHECK(x && std::isfinite(*x), "--" << name << ": '" << v << "' is not a finite number");
  return *x;
}

bool Args::on(const std::string& name) const { return values_.count(name) > 0; }

const std::vector<std::string>& Args::all(const std::string& name) const {
  static const std::vector<std::string> none;
  auto it = values_.find(name);
  return it == values_.end() ? none : it->second;
}

ArgParser::ArgParser(std::string command, std::string summary)
    : command_(std::move(command)), summary_(std::move(summary)) {}

ArgParser& ArgParser::option(const std::string& name, const std::string& value_name,
                             const std::string& help, const std::string& default_value) {
  specs_.push_back({name, value_name, help, default_value, true, false});
  return *this;
}

ArgParser& ArgParser::repeated(const std::string& name, const std::string& value_name,
                               const std::string& help) {
  specs_.push_back({name, value_name, help, "", true, true});
  return *this;
}

ArgParser& ArgParser::flag(const std::string& name, const std::string& help) {
  specs_.push_back({name, "", help, "", false, false});
  return *this;
}

const ArgParser::Spec* ArgParser::find(const std::string& name) const {
  for (const Spec& s : specs_)
    if (s.name == name) return &s;
  return nullptr;
}

Args ArgParser::parse(const std::vector<std::string>& argv) const {
  Args args;
  for (const Spec& s : specs_) args.defaults_[s.name] = s.default_value;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word == "--help" || word == "-h") {
      args.help = true;
      continue;
    }
    CF_CHECK(word.rfind("--", 0) == 0,
             command_ << ": unexpected argument '" << word << "' (flags start with --; see "
                      << command_ << " --help)");
    std::string name = word.substr(2), value;
    const size_t eq = name.find('=');
    const bool inline_value = eq != std::string::npos;
    if (inline_value) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
    }
    const Spec* spec = find(name);
    if (!spec) {
      std::vector<std::string> names;
      for (const Spec& s : specs_) names.push_back(s.name);
      const std::string near = closest_match(name, names);
      throw Error(command_ + ": unknown flag --" + name +
                  (near.empty() ? "" : " (did you mean --" + near + "?)") + "; see " +
                  command_ + " --help");
    }
    if (spec->takes_value && !inline_value) {
      CF_CHECK(i + 1 < argv.size(), command_ << ": --" << name << " needs a value ("
                                             << spec->value_name << ")");
      value = argv[++i];
    }
    CF_CHECK(spec->takes_value || !inline_value,
             command_ << ": --" << name << " takes no value");
    CF_CHECK(spec->repeatable || !args.values_.count(name),
             command_ << ": --" << name << " given twice");
    args.values_[name].push_back(value);
  }
  return args;
}

std::string ArgParser::usage() const {
  std::ostringstream os;
  os << "usage: " << command_ << " [flags]\n\n" << summary_ << "\n\nflags:\n";
  for (const Spec& s : specs_) {
    std::string left = "  --" + s.name + (s.takes_value ? " " + s.value_name : "");
    if (s.repeatable) left += " ...";
    os << left << std::string(left.size() < 28 ? 28 - left.size() : 1, ' ') << s.help;
    if (!s.default_value.empty()) os << " (default " << s.default_value << ")";
    os << '\n';
  }
  os << "  --help                    this text\n";
  return os.str();
}

}  // namespace cf
