// Command-line flags for the tool's subcommands: each subcommand declares its
// flags once, and the same declaration parses argv, checks it and prints
// --help, so the help can never drift from what is accepted.
#pragma once
#include <map>
#include <string>
#include <vector>

namespace cf {

class Args {
 public:
  bool has(const std::string& name) const;
  // The flag's value (or its default); a cf::Error naming the flag when the
  // value is not of the asked type.
  std::string str(const std::string& name) const;
  int64_t integer(const std::string& name) const;
  double real(const std::string& name) const;
  bool on(const std::string& name) const;  // a switch was given
  const std::vector<std::string>& all(const std::string& name) const;  // repeatable
  bool help = false;

 private:
  friend class ArgParser;
  std::map<std::string, std::vector<std::string>> values_;
  std::map<std::string, std::string> defaults_;
};

class ArgParser {
 public:
  ArgParser(std::string command, std::string summary);
  // --name VALUE, with a default ("" means: absent unless given).
  ArgParser& option(const std::string& name, const std::string& value_name,
                    const std::string& help, const std::string& default_value = "");
  // --name VALUE, any number of times (--set key=value ...).
  ArgParser& repeated(const std::string& name, const std::string& value_name,
                      const std::string& help);
  // --name, no value.
  ArgParser& flag(const std::string& name, const std::string& help);
  // Parses the arguments after the subcommand. Unknown flags, missing values
  // and stray words raise cf::Error naming them (with the closest known flag).
  Args parse(const std::vector<std::string>& argv) const;
  std::string usage() const;

 private:
  struct Spec {
    std::string name, value_name, help, default_value;
    bool takes_value = true, repeatable = false;
  };
  const Spec* find(const std::string& name) const;
  std::string command_, summary_;
  std::vector<Spec> specs_;
};

}  // namespace cf
