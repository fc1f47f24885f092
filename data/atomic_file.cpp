#include "data/atomic_file.h"

#include <cstdio>
#include <filesystem>

#if defined(_WIN32)
#include <io.h>
#else
#include <fcntl.h>
#include <unistd.h>
#endif

#include "autograd/error.h"

namespace cf::data {

namespace {

// Pushes a file's bytes (or a folder's entries) from the OS cache to the
// disk: after the rename, a crash or power cut leaves either the old file or
// the whole new one, never a renamed file whose blocks were not yet written.
bool sync_file(std::FILE* f) {
#if defined(_WIN32)
  return _commit(_fileno(f)) == 0;
#else
  return fsync(fileno(f)) == 0;
#endif
}

void sync_folder(const std::string& path) {
#if !defined(_WIN32)
  const std::string folder = std::filesystem::path(path).parent_path().string();
  const int fd = open(folder.empty() ? "." : folder.c_str(), O_RDONLY);
  if (fd < 0) return;  // best effort: the file itself is already on disk
  fsync(fd);
  close(fd);
#else
  (void)path;
#endif
}

}  // namespace

void write_atomically(const std::string& path, std::initializer_list<std::string_view> parts,
                      const std::string& who) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  CF_CHECK(f, who << ": cannot open " << tmp << " for writing (does the folder exist?); " << path
                  << " is unchanged");
  size_t bytes = 0;
  bool written = true;
  for (std::string_view part : parts) {
    written = written && std::fwrite(part.data(), 1, part.size(), f) == part.size();
    bytes += part.size();
  }
  written = written && std::fflush(f) == 0 && sync_file(f);
  if (std::fclose(f) != 0 || !written) {
    std::remove(tmp.c_str());
    throw Error(who + ": writing " + std::to_string(bytes) + " bytes to " + tmp +
                " failed (disk full or file too large?); " + path + " is unchanged");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    std::remove(tmp.c_str());
    throw Error(who + ": cannot rename " + tmp + " to " + path + ": " + ec.message());
  }
  sync_folder(path);
}

}  // namespace cf::data
