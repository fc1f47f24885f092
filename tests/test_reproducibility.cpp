// The same seed and config give the same weights, bit for bit, whatever the
// number of threads: chunk boundaries depend on the problem size only and
// partial results are combined in a fixed order (docs/ARCHITECTURE.md).
// Checked on short training runs — loader, augmentation, dropout, forward,
// backward, AdamW — of every model family. The scalar and SIMD kernel paths
// round differently (vector exp, FMA, summation order), so they agree within
// a tolerance, also checked here.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "autograd/kernels/cpu.h"
#include "autograd/kernels/threads.h"
#include "tests/helpers.h"
#include "tests/temp_dir.h"
#include "train/safetensors.h"
#include "train/trainer.h"

using namespace cf;
using cf::test::TempDir;

namespace {

struct Family {
  const char* model;
  const char* keys;  // small sizes, as "key = value" lines
};

// Two steps of 16 synthetic images, with augmentation, then an evaluation;
// returns every tensor of last.safetensors (weights and AdamW moments).
NamedTensors train_briefly(const Family& family, int threads) {
  TempDir dir("repro");
  Config c = Config::parse(family.keys, family.model);
  c.set("model", family.model).set("dataset", "synthetic").set("synthetic_train", 32)
      .set("synthetic_test", 16).set("epochs", 1).set("batch_size", 16).set("warmup", 0)
      .set("lr", 0.003).set("augment", true).set("seed", 7).set("threads", threads);
  TrainOptions options;
  options.run = split_run_config(c, family.model);
  options.out_dir = dir.path().string();
  const int previous = kernels::num_threads();
  std::ostringstream log;
  train(options, log);
  kernels::set_num_threads(previous);
  return load_safetensors(dir.file("last.safetensors")).tensors;
}

void require_same_bits_for_any_thread_count(const std::vector<Family>& families) {
  for (const Family& family : families) {
    INFO(family.model);
    const NamedTensors one = train_briefly(family, 1);
    for (int threads : {2, 4, 8}) {
      INFO(threads << " threads");
      const NamedTensors other = train_briefly(family, threads);
      REQUIRE(other.size() == one.size());
      for (size_t i = 0; i < one.size(); ++i) {
        INFO(one[i].first);
        CHECK(other[i].second.to_vector() == one[i].second.to_vector());
      }
    }
  }
}

}  // namespace

TEST_CASE("ViT and CCT train to the same bits with 1, 2, 4 and 8 threads", "[determinism][train]") {
  require_same_bits_for_any_thread_count({
      {"vit_lite_cpu", "patch_size = 8\ndim = 16\ndepth = 1\nheads = 2\ndropout = 0.1"},
      {"cct_2_3x2", "dim = 16\ndepth = 1\nheads = 2\nconv_channels = 8\ndropout = 0.1\ndrop_path = 0.1"}});
}

TEST_CASE("Columnformers train to the same bits with 1, 2, 4 and 8 threads", "[determinism][train]") {
  require_same_bits_for_any_thread_count({
      {"vision_columnformer_ff_tiny_cifar", "patch_size = 8\ndim = 16\ndepth = 2\nqk_dim = 8"},
      {"vision_columnformer_r_tiny_cifar", "patch_size = 8\ndim = 16\ndepth = 2\nqk_dim = 8"},
      {"vision_moemixer_tiny_cifar", "patch_size = 8\ndim = 16\ndepth = 2\nheads = 2\nexperts = 1,2"},
      {"vision_tut_tiny_cifar", "patch_size = 8\ndim = 16\ndepth = 2\nheads = 2\nexperts = 3"}});
}

TEST_CASE("MLP-Mixer and AFT train to the same bits with 1, 2, 4 and 8 threads", "[determinism][train]") {
  require_same_bits_for_any_thread_count({
      {"mixer_cifar", "patch_size = 8\ndim = 16\ndepth = 1\ntoken_mlp_dim = 8\nchannel_mlp_dim = 32"},
      {"aft_full_cifar", "patch_size = 8\ndim = 16\ndepth = 1"},
      {"aft_simple_cifar", "patch_size = 8\ndim = 16\ndepth = 1"},
      {"aft_local_cifar", "patch_size = 8\ndim = 16\ndepth = 1"},
      {"aft_conv_cifar", "patch_size = 8\ndim = 16\ndepth = 1\nheads = 2"}});
}

TEST_CASE("Universal and Cortical Transformers train to the same bits with 1, 2, 4 and 8 threads",
          "[determinism][train]") {
  require_same_bits_for_any_thread_count(
      {{"ut_cifar", "patch_size = 8\ndim = 16\nheads = 2\nsteps = 2"},
       {"ut_act_cifar", "patch_size = 8\ndim = 16\nheads = 2\nmax_steps = 3"},
       {"cortical_cpu_baseline",
        "conv_channels = 8\ndim = 16\nheads = 2\nregions = 2\ntimesteps = 2"},
       {"cortical_cpu_macro_micro_meso",
        "conv_channels = 8\ndim = 16\nheads = 2\ntimesteps = 3\nmeso_width = 2"}});
}

TEST_CASE("The scalar and AVX2 kernel paths train to nearly the same weights", "[determinism][train][kernels]") {
  using kernels::SimdPath;
  if (!kernels::simd_path_supported(SimdPath::Avx2)) {
    WARN("this CPU or build has no AVX2 path: nothing to compare");
    return;
  }
  const SimdPath previous = kernels::simd_path();
  for (const Family& family : std::vector<Family>{
           {"cct_2_3x2", "dim = 16\ndepth = 1\nheads = 2\nconv_channels = 8"},
           {"vision_columnformer_ff_tiny_cifar", "patch_size = 8\ndim = 16\ndepth = 2\nqk_dim = 8"},
           {"aft_full_cifar", "patch_size = 8\ndim = 16\ndepth = 1"},
           {"ut_act_cifar", "patch_size = 8\ndim = 16\nheads = 2\nmax_steps = 3"}}) {
    INFO(family.model);
    kernels::set_simd_path(SimdPath::Scalar);
    const NamedTensors scalar = train_briefly(family, 2);
    kernels::set_simd_path(SimdPath::Avx2);
    const NamedTensors avx2 = train_briefly(family, 2);
    kernels::set_simd_path(previous);
    // Adam divides each gradient by its own running size, so an entry whose
    // gradient is near zero may move by up to lr on one path and less on the
    // other: the bound is a fraction of the lr (3e-3) times the two steps.
    REQUIRE(avx2.size() == scalar.size());
    for (size_t i = 0; i < scalar.size(); ++i) {
      INFO(scalar[i].first);
      const std::vector<float> a = scalar[i].second.to_vector(), b = avx2[i].second.to_vector();
      double worst = 0, largest = 0;
      for (size_t k = 0; k < a.size(); ++k) {
        worst = std::max(worst, double(std::fabs(a[k] - b[k])));
        largest = std::max(largest, double(std::fabs(a[k])));
      }
      CHECK(worst <= 2e-3);
      // Adam's moments hold the gradients themselves (the weights only their
      // signs, nearly): a path whose gradients were off by any factor would
      // pass the bound above, but not this one, relative to each moment's
      // size. The floor covers parameters whose gradient is rounding noise
      // (1e-6 for a gradient, its square times 1 - beta2 for the second).
      const std::string& name = scalar[i].first;
      const bool second = name.find("exp_avg_sq") != std::string::npos;
      if (name.find("exp_avg") != std::string::npos)
        CHECK(worst <= 0.02 * largest + (second ? 1e-15 : 1e-6));
    }
  }
}
