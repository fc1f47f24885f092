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
#include <vector>

#include "nn/config.h"

namespace cf {

// Every training key with its default and a one-line doc. The defaults are
// the recipe of record for CIFAR (docs/ARCHITECTURES.md section 2.5): AdamW,
// lr 5e-4, weight decay 3e-2, batch 128, cosine with 10% linear warmup, label
// smoothing 0.1, random crop (pad 4) and horizontal flip.
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

// Checks every training key before anything is read or built: each boolean
// holds a boolean, each count an integer, each number lies in its range
// (epochs >= 1, 0 <= min_lr <= lr, ...), each named choice is one of its
// names. The error names the key, its value and what it may be: a value out
// of range is an error, never quietly read as "off" or "all".
void check_train_keys(const Config& train);

// The training keys set to other than their defaults that the run's other
// choices leave unused (momentum with adamw, gamma without the step
// schedule, cifar100_labels with CIFAR-10, ...), one sentence each: cf train
// prints them, so no setting is silently ignored. `dataset` is the kind the
// data resolved to (cifar10, cifar100, folder, synthetic).
std::vector<std::string> unused_train_keys(const Config& train, const std::string& dataset);

// That `key` (dataset, cifar100_labels or optimizer) holds one of
// its names; cf::Error naming the key, the value and the names otherwise.
void check_choice(const Config& train, const std::string& key);

// That every model key of `run` is a key of its model; a misspelt training
// key lands among them, so the hint looks among both.
void check_model_keys(const RunConfig& run);

}  // namespace cf
