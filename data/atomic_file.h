// Writing a file whole or not at all: the bytes go to a temporary file next
// to the target, are flushed to the disk, and the temporary file is renamed
// into place. A crash, a full disk, a missing folder or a Ctrl-C leaves the
// target as it was (an earlier good file survives), never half-written.
#pragma once
#include <initializer_list>
#include <string>
#include <string_view>

namespace cf::data {

// Writes the concatenated `parts` to `path`. Errors are cf::Errors that
// start with `who` ("save_safetensors", "write_npy"), name the file and say
// that `path` is unchanged.
void write_atomically(const std::string& path, std::initializer_list<std::string_view> parts,
                      const std::string& who);

}  // namespace cf::data
