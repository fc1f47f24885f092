// A private temporary folder for a test, removed with everything in it when
// the test ends. Tests write every file they read here first.
#pragma once
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

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

}  // namespace cf::test
