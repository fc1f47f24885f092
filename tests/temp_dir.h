// A private temporary folder for a test, removed with everything in it when
// the test ends. Tests write every file they read here first.
#pragma once
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

#if defined(__unix__) || defined(__APPLE__)
#define CF_TEST_HAS_FILE_LIMIT 1
#include <sys/resource.h>

#include <csignal>
#endif

namespace cf::test {

class TempDir {
 public:
  explicit TempDir(const std::string& name = "tmp") {
    static std::atomic<int> counter{0};
    const auto now = std::chrono::steady_clock::now().time_since_epoch().count();
    path_ = std::filesystem::temp_directory_path() /
            ("cf_test_" + name + "_" + std::to_string(now) + "_" + std::to_string(counter++));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // The path of `name` inside the folder, as a string.
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

#if CF_TEST_HAS_FILE_LIMIT
// Runs f() with this process allowed to write at most `bytes` bytes per file,
// as a full disk stops a write midway: write() then fails with EFBIG (once
// SIGXFSZ, which would end the process, is ignored). Both are restored.
template <class F>
void with_file_size_limit(rlim_t bytes, F f) {
  rlimit old_limit;
  getrlimit(RLIMIT_FSIZE, &old_limit);
  rlimit tight = old_limit;
  tight.rlim_cur = bytes;
  const auto old_handler = std::signal(SIGXFSZ, SIG_IGN);
  setrlimit(RLIMIT_FSIZE, &tight);
  f();
  setrlimit(RLIMIT_FSIZE, &old_limit);
  std::signal(SIGXFSZ, old_handler);
}
#endif

}  // namespace cf::test
