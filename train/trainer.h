// The training loop behind `cf train`: builds the model and the data, then
// for every step draws a batch, computes the task loss plus the model's
// auxiliary losses, backpropagates, clips, sets the learning rate from the
// schedule and steps the optimiser; every epoch (or `eval_every`) it
// evaluates on the test set, logs, plots and checkpoints.
//
// Output folder:
//   config.txt         the run's full config (model, training and model keys)
//   log.jsonl          one JSON object per line: the start (version, kernel
//                      path, threads, config), then one per epoch
//   log.csv            the per-epoch figures as a table
//   curves.svg         loss and accuracy curves
//   last.safetensors   model, optimiser state and position: what --resume reads
//   best.safetensors   the model with the best test accuracy so far
// A new run does not overwrite another's folder unless asked to
// (TrainOptions::overwrite), as a run interrupted early would otherwise
// leave the old run's checkpoints beside the new run's log.
//
// Reproducibility: initialisation, data order, augmentation, mixing and
// dropout are pure functions of (seed, step, epoch, index), and the
// optimiser state is saved exactly, so a run resumed from last.safetensors
// ends with the same weights, bit for bit, as one never interrupted, and
// logs the same figures for the interrupted epoch (its running sums are
// saved too). A new run records the data set it found (`dataset` and the
// folder's absolute path in `data`), so a resume or `cf eval` reads the same
// images from wherever it is started.
#pragma once
#include <cmath>
#include <cstdint>
#include <iosfwd>
#include <string>

#include "data/dataset.h"
#include "nn/model.h"
#include "train/run_config.h"
#include "train/safetensors.h"

namespace cf {

struct TrainOptions {
  RunConfig run;
  std::string out_dir;
  bool terminal = false;  // redraw a progress bar instead of printing lines
  bool resume = false;    // continue from out_dir/last.safetensors
  bool overwrite = false;  // start again in a folder that holds a run (its files removed)
  // Stop, as an interruption would, once this many steps are done in total
  // (0: never). For time budgets and for testing resumption.
  int64_t stop_after_steps = 0;
};

struct TrainResult {
  int64_t steps = 0;         // optimiser steps taken in total
  int64_t epochs = 0;        // epochs completed
  double best_accuracy = 0;  // best test accuracy seen
  double final_accuracy = 0; // test accuracy after the last epoch
  double final_loss = 0;
  bool interrupted = false;  // stopped by request_stop() (Ctrl-C)
  int64_t parameters = 0;            // the model's learnable parameters
  int64_t attention_parameters = 0;  // those of its token mixers
  double images_per_second = 0;      // training throughput of this call, evaluation excluded
};

// Runs (or resumes) a training run. Errors (bad config, data, a loss that is
// no longer finite, a checkpoint that cannot be written) are cf::Errors; the
// last checkpoint on disk is always complete.
TrainResult train(const TrainOptions& options, std::ostream& out);

// Whether cf train has written a run's files (config, log or checkpoint) in dir.
bool holds_run(const std::string& dir);

// The RunConfig stored in out_dir/last.safetensors (for --resume).
RunConfig read_run_config(const std::string& out_dir);

// How far the run in out_dir got, from its files (how an experiment sweep
// picks up where it stopped): whether last.safetensors has trained every
// epoch, and what log.csv holds for the epochs it has, summed over them.
struct RunRecord {
  RunConfig run;            // as read_run_config reads it
  bool finished = false;    // last.safetensors is at the end of the last epoch
  int64_t epochs = 0;       // the run's epochs
  int64_t epochs_logged = 0;  // the last epoch in log.csv
  double final_accuracy = NAN;  // that epoch's test accuracy (NaN: not evaluated)
  // Training images and seconds over the logged epochs, evaluation excluded;
  // an interrupted epoch counts from its resumption.
  double images = 0, seconds = 0;
};
RunRecord read_run_record(const std::string& out_dir);

// The model of a run's checkpoint (last or best): rebuilt from the run's
// config, with the file's model tensors loaded (optimiser state ignored).
std::unique_ptr<Model> load_run_model(const Safetensors& checkpoint, const RunConfig& run,
                                      const std::string& file);

// The run's model keys with those that follow from the data (num_classes,
// in_channels) filled in where the run did not set them; a key the run set
// that the data contradicts is an error naming both, as are images of
// another size than model_image_size. Also checks a trained run against
// other test data (cf eval --data).
Config fit_model_to_data(const RunConfig& run, const data::ImageSet& set);

// The side of the images the run's model takes: its image_size key, or the
// model's default (32 for a model without the key). The data is read at
// this size (train/data_source.h). cf::Error if it is below 1.
int64_t model_image_size(const RunConfig& run);

// Asks a running train() to save last.safetensors and return after the
// current step (safe to call from a signal handler). False when no train()
// is running: there is nothing to stop gently.
bool request_stop();

}  // namespace cf
