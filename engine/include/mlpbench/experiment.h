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
  std::optional<Reference> reference;

  // The resolved experiment, as a log records it: every default filled in, the file's key
  // names, only the chosen optimizer's keys. parse_experiment(e.to_json(), ...) == e.
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
