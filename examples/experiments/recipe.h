// An experiment recipe: one `key = value` file in the format `cf train
// --config FILE` reads (training keys, `model`, the model's keys), named
// after the file (examples/recipes/cct.cfg is the recipe "cct").
#pragma once
#include <cstdint>
#include <string>

#include "nn/config.h"
#include "train/run_config.h"

namespace cf::experiments {

struct Recipe {
  std::string name;  // the file's stem
  std::string path;
  RunConfig run;
  std::string data;  // what its data resolves to (train/data_source.h: describe_data)
  // Counted on the model built from the recipe as written, before it meets
  // the data (a data set with other classes changes the head).
  int64_t parameters = 0, attention_parameters = 0;
};

// Reads a recipe and lays `overrides` over it (--set, --data, --smoke), then
// checks it the way a run would, so a mistake surfaces before hours of
// training: a model that exists, every key known, every training value
// readable, a model that builds, data that exists. Errors are cf::Errors that start with the
// file's path and name the key.
Recipe load_recipe(const std::string& path, const Config& overrides);

// Checks that `was`, the run in the seed folder `dir` (read_run_config), is
// the recipe's with this seed, so that an interrupted sweep may take it up:
// the same model, every training and model key at the same value (the
// model's defaults standing for keys not given), and data that resolves to
// the same folder. `threads` may differ: the bits do not depend on it. The
// errors name the folder and the first key that differs.
void check_same_run(const Recipe& recipe, int64_t seed, const std::string& dir,
                    const RunConfig& was);

// What --smoke lays over every recipe: one epoch of a few steps on a small
// synthetic set of 32x32 images, the recipe's model unchanged.
Config smoke_overrides();

}  // namespace cf::experiments
