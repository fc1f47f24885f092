#include "experiments/recipe.h"

#include <filesystem>

#include "autograd/error.h"
#include "nn/registry.h"
#include "train/data_source.h"

namespace cf::experiments {

Recipe load_recipe(const std::string& path, const Config& overrides) {
  Config combined = Config::read_file(path, "recipe");
  Recipe recipe;
  recipe.path = path;
  recipe.name = std::filesystem::path(path).stem().string();
  try {
    for (const std::string& key : overrides.keys()) combined.set(key, overrides.get_string(key));
    CF_CHECK(combined.has("model"), "no `model = NAME` line (cf models lists the names)");
    recipe.run = split_run_config(combined, path);
    // Every key checked as a run would check it, before any recipe trains.
    check_train_keys(recipe.run.train);
    check_model_keys(recipe.run);
    const std::unique_ptr<Model> model = build_model(recipe.run.model, recipe.run.model_config);
    recipe.parameters = model->learnable_parameters();
    recipe.attention_parameters = model->attention_parameters();
    recipe.data = describe_data(recipe.run.train);
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
