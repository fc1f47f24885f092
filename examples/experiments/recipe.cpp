#include "experiments/recipe.h"

#include <filesystem>
#include <set>

#include "autograd/error.h"
#include "nn/registry.h"
#include "train/data_source.h"
#include "train/trainer.h"

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

void check_same_run(const Recipe& recipe, int64_t seed, const std::string& dir,
                    const RunConfig& was) {
  const std::string again =
      "; remove " + dir + " to train this seed again, or choose another --out";
  CF_CHECK(was.model == recipe.run.model, dir << " holds a run of " << was.model << ", but "
                                              << recipe.name << " trains " << recipe.run.model
                                              << again);
  const auto compare = [&](const Config& mine, const Config& theirs,
                           const std::set<std::string>& skipped) {
    for (const std::string& key : mine.keys()) {
      if (skipped.count(key)) continue;
      const std::string value = theirs.has(key) ? theirs.get_string(key) : "(not set)";
      CF_CHECK(same_value(value, mine.get_string(key)),
               dir << " holds a run with " << key << " = " << value << ", but " << recipe.name
                   << " has " << mine.get_string(key) << again);
    }
  };
  Config train = recipe.run.train;
  train.set("seed", seed);
  compare(train, was.train, {"threads", "data", "dataset"});  // the bits do not depend on threads
  // The model as the run fitted it to its data: the classes and channels
  // are the data's (compared below), and its seed is the run's, compared
  // above (a config's `seed` is always the training key).
  const auto model_keys = [](const RunConfig& run) {  // the model's defaults under the run's keys
    return run.model_config.resolved_against(model_info(run.model).defaults, run.model);
  };
  compare(model_keys(recipe.run), model_keys(was), {"num_classes", "in_channels", "seed"});
  const auto [dataset, data] = recorded_data(recipe.run.train);
  const std::string& read = was.train.get_string("data");
  CF_CHECK(was.train.get_string("dataset") == dataset && read == data,
           dir << " holds a run that read " << was.train.get_string("dataset")
               << (read.empty() ? "" : " from " + read) << ", but " << recipe.name << " reads "
               << recipe.data << again);
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
