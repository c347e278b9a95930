#pragma once
// An experiment file: what to train and how (Keras-flavoured JSON, see the README).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlpbench/spec.h"

namespace mlpbench {

// Inputs of every experiment's model: both datasets hold 28x28 images, flattened.
constexpr int kExperimentInputs = 784;

struct Reference {
  double test_accuracy = 0;
  std::string source;

  bool operator==(const Reference&) const = default;
};

// keras.callbacks.EarlyStopping, Keras defaults.
struct EarlyStoppingSpec {
  std::string monitor = "val_loss";  // "loss", "accuracy", "val_loss" or "val_accuracy"
  double min_delta = 0;
  int patience = 0;
  std::string mode = "auto";  // "auto", "min" or "max"
  std::optional<double> baseline;
  bool restore_best_weights = false;
  int start_from_epoch = 0;

  bool operator==(const EarlyStoppingSpec&) const = default;
};

// keras.callbacks.ReduceLROnPlateau, Keras defaults.
struct ReduceLrOnPlateauSpec {
  std::string monitor = "val_loss";
  double factor = 0.1;
  int patience = 10;
  std::string mode = "auto";
  double min_delta = 1e-4;
  int cooldown = 0;
  double min_lr = 0;

  bool operator==(const ReduceLrOnPlateauSpec&) const = default;
};

struct CallbacksSpec {
  std::optional<EarlyStoppingSpec> early_stopping;
  std::optional<ReduceLrOnPlateauSpec> reduce_lr_on_plateau;

  bool operator==(const CallbacksSpec&) const = default;
};

struct Experiment {
  std::string name;
  std::string description;
  std::string dataset = "mnist";
  std::vector<LayerSpec> model;
  std::string loss = "sparse_categorical_crossentropy";  // or "categorical_crossentropy"
  OptimizerSpec optimizer;
  int epochs = 1;
  int batch_size = 32;
  bool shuffle = true;
  uint64_t seed = 1;
  int threads = 0;  // 0 = all cores
  // Micro-shards a batch's gradients are summed in (a power of two, at most batch_size; see
  // docs/experiment.md): the numbers then do not depend on how many processes share the work.
  int shards = 1;
  std::optional<Reference> reference;
  // Keras' fit(validation_split=...): the last fraction of the training samples, before any
  // shuffle, held out and never trained on. 0: none.
  double validation_split = 0;
  CallbacksSpec callbacks;
  std::optional<double> target_accuracy;   // time to reach it is reported in the summary
  std::string target_metric;               // "val_accuracy" or "test_accuracy" (with a target)

  // The resolved experiment, as a log records it: every default filled in, the file's key
  // names, only the chosen optimizer's keys; validation_split, callbacks and target_* only when
  // used, so logs of runs without them read as before. parse_experiment(e.to_json(), ...) == e.
  nlohmann::json to_json() const;

  bool operator==(const Experiment&) const = default;
};

// Parses and validates an experiment. `source` names the file in messages, which read like
// `experiments/x.json: /optimizer/learning_rate: expected a positive number, got "fast"`.
// Throws ConfigError. Unknown keys (and duplicate keys) are errors. The last layer must be a
// softmax with 10 units (both datasets have 10 classes); inputs are 784 pixels.
Experiment parse_experiment(const std::string& text, const std::string& source);
Experiment parse_experiment(const nlohmann::json& j, const std::string& source);
Experiment load_experiment(const std::string& path);

// Checks every range and cross-field constraint again, e.g. after command-line overrides
// (throws ConfigError; the message names the field by its JSON path, e.g. `/epochs`).
void validate_experiment(const Experiment& e, const std::string& source);

}  // namespace mlpbench
