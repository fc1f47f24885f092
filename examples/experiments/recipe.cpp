#include "experiments/recipe.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "autograd/error.h"
#include "nn/registry.h"

namespace cf::experiments {

namespace {

// Reads every training key the way train() will: a key whose default is a
// boolean must hold a boolean, one whose default is a number a number, and
// epochs and batch_size positive integers (the results table shows them).
void check_training_values(const Config& train) {
  for (const std::string& key : train_defaults().keys()) {
    const std::string& default_value = train_defaults().get_string(key);
    char* end = nullptr;
    std::strtod(default_value.c_str(), &end);
    if (default_value == "true" || default_value == "false")
      train.get_bool(key);
    else if (!default_value.empty() && *end == '\0')
      train.get_float(key);
  }
  for (const char* key : {"epochs", "batch_size"})
    CF_CHECK(train.get_int(key) >= 1, "key \"" << key << "\" is " << train.get_int(key)
                                               << "; it must be at least 1");
}

// A key that is neither a training key nor one of the model's: the hint
// looks among both, as a misspelt training key lands among the model's.
void check_model_keys(const RunConfig& run) {
  const Config& model_keys = model_info(run.model).defaults;
  for (const std::string& key : run.model_config.keys()) {
    if (model_keys.has(key)) continue;
    std::vector<std::string> known = model_keys.keys();
    for (const std::string& k : train_defaults().keys()) known.push_back(k);
    const std::string near = closest_match(key, known);
    throw Error("unknown key \"" + key + "\": not a training key nor a key of model " + run.model +
                (near.empty() ? "" : " (did you mean \"" + near + "\"?)") +
                "; `cf models " + run.model + "` lists the model's keys, docs/TRAINING.md the training keys");
  }
}

}  // namespace

Recipe load_recipe(const std::string& path, const Config& overrides) {
  std::ifstream file(path);
  CF_CHECK(file, "cannot read recipe file " << path);
  Recipe recipe;
  recipe.path = path;
  recipe.name = std::filesystem::path(path).stem().string();
  try {
    Config combined = Config::parse(file, path);
    for (const std::string& key : overrides.keys()) combined.set(key, overrides.get_string(key));
    CF_CHECK(combined.has("model"), "no `model = NAME` line (cf models lists the names)");
    recipe.run = split_run_config(combined, path);
    check_training_values(recipe.run.train);
    check_model_keys(recipe.run);
    const std::unique_ptr<Model> model = build_model(recipe.run.model, recipe.run.model_config);
    recipe.parameters = model->learnable_parameters();
    recipe.attention_parameters = model->attention_parameters();
  } catch (const Error& e) {
    const std::string message = e.what();
    throw Error(message.rfind(path, 0) == 0 ? message : path + ": " + message);
  }
  return recipe;
}

Config smoke_overrides() {
  return Config()
      .set("dataset", "synthetic")
      .set("synthetic_train", 16)
      .set("synthetic_test", 16)
      .set("train_limit", 0)
      .set("test_limit", 0)
      .set("epochs", 1)
      .set("batch_size", 8)
      .set("eval_every", 1);
}

}  // namespace cf::experiments
