// The `cf` command-line tool: every subcommand, as a function that tests can
// call with arguments and streams. train/tool/cf.cpp is only main().
//
//   cf models [NAME]            list the models, or one model's keys
//   cf info --model NAME        the module table and parameter counts
//   cf train --model NAME ...   train, evaluate, log, checkpoint
//   cf eval --checkpoint FILE   test accuracy, per class
//
// Returns the process exit code: 0 on success, 1 on an error (printed to
// `err` as "cf <command>: message"), 2 on a usage error, 130 when a run was
// interrupted.
#pragma once
#include <iosfwd>
#include <string>
#include <vector>

namespace cf {

int run_cli(const std::vector<std::string>& args, std::ostream& out, std::ostream& err,
            bool terminal = false);

}  // namespace cf
