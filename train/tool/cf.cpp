// main() of the `cf` tool: the commands live in train/cli.cpp.
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "train/cli.h"
#include "train/trainer.h"

#if defined(_WIN32)
#include <io.h>
#define CF_ISATTY(fd) _isatty(fd)
#else
#include <unistd.h>
#define CF_ISATTY(fd) isatty(fd)
#endif

namespace {
// Ctrl-C: during training, the first asks the run to checkpoint and stop
// after its current step and a second one ends the process at once; in the
// other commands (whose files are written whole or not at all) the first one
// does.
void on_interrupt(int) {
  static volatile std::sig_atomic_t count = 0;
  if (++count > 1 || !cf::request_stop()) std::_Exit(130);
}
}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGINT, on_interrupt);
  std::vector<std::string> args(argv + 1, argv + argc);
  return cf::run_cli(args, std::cout, std::cerr, CF_ISATTY(1) != 0);
}
