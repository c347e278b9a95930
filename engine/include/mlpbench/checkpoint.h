#pragma once
// Training checkpoints: a safetensors file with the model, the optimizer state and the epoch's
// sample order as tensors, and the experiment and loop state in its metadata, so a resumed run
// computes exactly what an uninterrupted one would. A checkpoint is untrusted input: every
// tensor and the metadata carry a crc32, and every field is checked before it is used
// (docs/formats.md).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlpbench/experiment.h"
#include "mlpbench/run_info.h"
#include "mlpbench/trainer.h"
#include "mlpbench/weights.h"

namespace mlpbench {

inline constexpr const char* kCheckpointFormat = "mlpbench.checkpoint/3";

// zlib's crc32 of `bytes` bytes (any length): the checksums of a checkpoint.
uint32_t crc32_of(const void* data, size_t bytes);

// `run_info` is stored for the resuming process (its log path, start time, identity, ...).
// `create`: the file must not exist yet (exclusive creation, OutputExists otherwise); else an
// existing regular file is replaced. Throws std::runtime_error naming the path.
void save_checkpoint(const std::string& path, const Experiment& experiment, Trainer& trainer,
                     const RunInfo& run_info, bool create = false);

// The file's bytes for metadata `meta` and `tensors`: checksums added (save_checkpoint uses it;
// tests use it to build checkpoints with chosen fields).
std::string encode_checkpoint(const nlohmann::json& meta, const std::vector<TensorView>& tensors);

struct Checkpoint {
  Experiment experiment;
  RunInfo run_info;
  TrainState state;         // everything but what depends on the data (check_resumable)
  nlohmann::json state_json;  // the metadata's "state" (the callbacks' state for restoring)
  SafetensorsFile file;     // the tensors, checksums verified
  std::string path;
};

// Parses and validates a checkpoint held in memory; `source` names it in messages. Throws
// ConfigError "<source>: not a usable checkpoint: <field>: <what is wrong>".
Checkpoint parse_checkpoint(std::string bytes, const std::string& source);
// The same for a file (a regular file only: never blocks on a FIFO).
Checkpoint read_checkpoint(const std::string& path);
// Checks what depends on the training set the run resumes on (`train_samples` samples, the
// experiment's batch size): the sample order, the step, the update count and running counts.
void check_resumable(const Checkpoint& checkpoint, size_t train_samples);
// Loads weights, optimizer state and loop state into a trainer built from the same experiment
// (its tensors' shapes are checked against the trainer's; ConfigError names the tensor).
void restore_checkpoint(const Checkpoint& checkpoint, Trainer& trainer);

}  // namespace mlpbench
