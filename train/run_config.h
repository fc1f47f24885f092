// The settings of a training run as one flat key=value Config (DESIGN.md):
// the same keys come from a config file (--config), from the tool's flags
// (--epochs 10 is epochs = 10) and from --set, and are stored in every
// checkpoint so a run can be resumed or rebuilt from it.
//
// A run's config mixes three kinds of key: the training keys below, `model`
// (the registered name), and the model's own keys (nn/registry.h), which
// split_run_config() separates.
#pragma once
#include <string>

#include "nn/config.h"

namespace cf {

// Every training key with its default and a one-line doc.
const Config& train_defaults();

struct RunConfig {
  Config train;         // every key of train_defaults(), resolved
  std::string model;    // registered model name
  Config model_config;  // overrides of the model's defaults (validated when built)
};

// Splits a combined config: training keys, `model`, and the rest as model
// keys. A model key the model does not have is reported when it is built,
// naming the key and the closest valid one.
RunConfig split_run_config(const Config& combined, const std::string& source);

// The combined config again, `model` first: what a checkpoint and config.txt hold.
Config join_run_config(const RunConfig& run);

}  // namespace cf
