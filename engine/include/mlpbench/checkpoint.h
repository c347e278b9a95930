#pragma once
// Training checkpoints: a safetensors file with the model, the optimizer state and the epoch's
// sample order as tensors, and the experiment and loop state in its metadata, so a resumed run
// computes exactly what an uninterrupted one would.
#include <string>

#include <nlohmann/json.hpp>

#include "mlpbench/experiment.h"
#include "mlpbench/trainer.h"

namespace mlpbench {

// `run_info` is stored as given (e.g. the log path and start time) for the resuming process.
void save_checkpoint(const std::string& path, const Experiment& experiment, Trainer& trainer,
                     const nlohmann::json& run_info);

struct Checkpoint {
  Experiment experiment;
  nlohmann::json run_info;
  nlohmann::json state;
  std::string path;
};
// Reads the experiment and run info; throws ConfigError naming the path if it is not a valid
// checkpoint.
Checkpoint read_checkpoint(const std::string& path);
// Loads weights, optimizer state and loop state into a trainer built from the same experiment.
void restore_checkpoint(const Checkpoint& checkpoint, Trainer& trainer);

}  // namespace mlpbench
