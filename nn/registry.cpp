#include "nn/registry.h"

#include <algorithm>
#include <deque>
#include <mutex>
#include <sstream>

#include "autograd/error.h"
#include "nn/aft.h"
#include "nn/columnformer.h"
#include "nn/cortical.h"
#include "nn/mixer.h"
#include "nn/universal.h"
#include "nn/vision_transformer.h"

namespace cf {

namespace {

// The built-in architectures, one line each (ARCHITECTURES.md 2.4, 2.5).
std::deque<ModelInfo> builtin_models() {
  using VT = VisionTransformer;
  std::deque<ModelInfo> models = {
      {"vit_lite_cpu", "ViT-Lite, D 128, 6 blocks, 4 heads, mlp 2, patch 4 (2.4, CPU default)",
       VT::vit_config(128, 6, 4, 2.0), VT::create},
      {"vit_lite_7_4", "ViT-Lite-7/4, D 256, 7 blocks, 4 heads, mlp 2, patch 4 (2.4)",
       VT::vit_config(256, 7, 4, 2.0), VT::create},
      {"cct_2_3x2", "CCT-2/3x2, 2 conv 3x3, D 128, 2 blocks, 2 heads, mlp 1, SeqPool (2.5)",
       VT::cct_config(2, 3, 128, 2, 2, 1.0), VT::create},
      {"cct_7_3x1", "CCT-7/3x1, 1 conv 3x3, D 256, 7 blocks, 4 heads, mlp 2, SeqPool (2.5)",
       VT::cct_config(1, 3, 256, 7, 4, 2.0), VT::create},
  };
  for (ModelInfo& m : columnformer_models()) models.push_back(std::move(m));  // 3.7
  for (ModelInfo& m : cortical_models()) models.push_back(std::move(m));  // 7.8
  for (ModelInfo& m : mixer_models()) models.push_back(std::move(m));  // 4
  for (ModelInfo& m : aft_models()) models.push_back(std::move(m));  // 5
  for (ModelInfo& m : universal_models()) models.push_back(std::move(m));  // 6
  return models;
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::deque<ModelInfo>& registry() {
  // A deque: references returned by model_info stay valid as models are added.
  static std::deque<ModelInfo> models = builtin_models();
  return models;
}

}  // namespace

void register_model(const std::string& name, const std::string& description,
                    const Config& defaults, ModelFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  for (const ModelInfo& m : registry())
    CF_CHECK(m.name != name, "register_model: a model named \"" << name << "\" already exists");
  registry().push_back({name, description, defaults, std::move(factory)});
}

std::vector<std::string> model_names() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::vector<std::string> names;
  for (const ModelInfo& m : registry()) names.push_back(m.name);
  return names;
}

const ModelInfo& model_info(const std::string& name) {
  std::vector<std::string> names = model_names();
  std::lock_guard<std::mutex> lock(registry_mutex());
  for (const ModelInfo& m : registry())
    if (m.name == name) return m;
  std::string hint = closest_match(name, names);
  std::ostringstream os;
  os << "unknown model \"" << name << "\"";
  if (!hint.empty()) os << " (did you mean \"" << hint << "\"?)";
  os << "; models:";
  for (const std::string& n : names) os << " " << n;
  throw Error(os.str());
}

std::unique_ptr<Model> build_model(const std::string& name, const Config& overrides) {
  const ModelInfo& info = model_info(name);
  Config config = overrides.resolved_against(info.defaults, "model " + name);
  std::unique_ptr<Model> model = info.factory(config);
  model->set_identity(name, config);
  return model;
}

std::string model_help(const std::string& name) {
  const ModelInfo& info = model_info(name);
  size_t key_width = 0, value_width = 0;
  for (const std::string& k : info.defaults.keys()) {
    key_width = std::max(key_width, k.size());
    value_width = std::max(value_width, info.defaults.get_string(k).size());
  }
  std::ostringstream os;
  os << info.name << ": " << info.description << "\n";
  for (const std::string& k : info.defaults.keys()) {
    const std::string& v = info.defaults.get_string(k);
    os << "  " << k << std::string(key_width - k.size() + 2, ' ') << v
       << std::string(value_width - v.size() + 2, ' ') << info.defaults.doc(k) << "\n";
  }
  return os.str();
}

}  // namespace cf
