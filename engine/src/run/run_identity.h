#pragma once
// What a checkpoint records of everything that determines a run's numbers besides its
// experiment (the checkpoint's `run.identity`, docs/formats.md), and the checks that a resumed
// run is the run it continues: the command line's values (the option table's kSameAsCheckpoint
// rows), the data and the machine. Each refusal is a ConfigError naming the difference.
#include <string>

#include <nlohmann/json.hpp>

#include "mlpbench/checkpoint.h"
#include "mlpbench/dataset.h"
#include "mlpbench/runner.h"

namespace mlpbench {

// The crc32 of the samples a run uses, per file: {"train_images", "train_labels",
// "test_images", "test_labels"} (the decoded bytes after --train-limit / --test-limit, before
// the validation split).
nlohmann::json data_digests(const Dataset& train, const Dataset& test);

// `run.identity` for a run on this machine: the data digests, the SIMD target in use, whether
// denormals are flushed, and the reduction ("tree", or "mpi" with its rank count).
nlohmann::json run_identity(const nlohmann::json& data, const std::string& reduction, int ranks);

// Refuses a checkpoint without `run.identity`, and every option of the option table that must
// equal the checkpoint's run and does not. Call before reading any data.
void check_resumed_options(const Checkpoint& checkpoint, const RunOptions& options);

// Refuses data, a machine or a reduction other than the checkpoint's run's.
// Throws ConfigError (--data-dir, naming the file) unless `digests` (data_digests()) are those
// the checkpoint's run recorded: checked before anything else of the checkpoint is held against
// the data, so that a changed dataset is named as such.
void check_resumed_data(const Checkpoint& checkpoint, const nlohmann::json& digests, const Dataset& train,
                        const Dataset& test);
void check_resumed_identity(const Checkpoint& checkpoint, const nlohmann::json& identity,
                            const Dataset& train, const Dataset& test);

}  // namespace mlpbench
