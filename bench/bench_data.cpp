// Times loading the whole CIFAR-10 JPEG image folder (train/ and test/,
// 60,000 images) with read_image_folder: median of 3 runs.
//
//   ./build/bench/bench_data [path/to/cifar10-jpg]
//
// The default path, ../shared/datasets/cifar10-jpg, is relative to the
// current folder (the project root). Without the data set the benchmark says
// so and exits successfully: a fresh clone has no ../shared.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "autograd/kernels/threads.h"
#include "data/image_folder.h"

int main(int argc, char** argv) {
  const std::string root = argc > 1 ? argv[1] : "../shared/datasets/cifar10-jpg";
  if (!std::filesystem::is_directory(root + "/train") ||
      !std::filesystem::is_directory(root + "/test")) {
    std::printf(
        "bench_data: SKIPPED: %s/train and %s/test not found (pass the cifar10-jpg "
        "folder as the first argument)\n",
        root.c_str(), root.c_str());
    return 0;
  }
  std::printf("bench_data: loading %s/{train,test} with %d threads\n", root.c_str(),
              cf::kernels::num_threads());
  std::vector<double> seconds;
  int64_t images = 0;
  for (int run = 0; run < 3; ++run) {
    const auto start = std::chrono::steady_clock::now();
    const cf::data::ImageSet train = cf::data::read_image_folder(root + "/train");
    const cf::data::ImageSet test = cf::data::read_image_folder(root + "/test");
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
    images = train.n + test.n;
    seconds.push_back(took.count());
    std::printf("  run %d: %lld images (%lld train, %lld test, %zu classes) in %.2f s\n", run + 1,
                static_cast<long long>(images), static_cast<long long>(train.n),
                static_cast<long long>(test.n), train.classes.size(), took.count());
  }
  std::sort(seconds.begin(), seconds.end());
  std::printf("bench_data: median %.2f s for %lld images (%.0f images/s)\n", seconds[1],
              static_cast<long long>(images), double(images) / seconds[1]);
  return 0;
}
