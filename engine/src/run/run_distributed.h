#pragma once
// The distributed parts of a run (docs/scaling.md): the ranks' agreement before training and
// the `distributed` object of rank 0's log (docs/run-log.md).
#include <vector>

#include <nlohmann/json.hpp>

#include "mlpbench/comm.h"
#include "mlpbench/dataset.h"
#include "mlpbench/distributed.h"
#include "mlpbench/experiment.h"
#include "mlpbench/trainer.h"

namespace mlpbench {

// Ranks of a distributed run must compute the same thing: the same SIMD target, denormal
// mode, experiment, data and initial parameters. Throws ConfigError (on every rank: they all
// see the same table) naming the ranks that differ from rank 0 and in what.
void check_agreement(Comm& comm, const Experiment& e, Trainer& trainer, const nlohmann::json& digests);

// The job's shape and every rank's host (collective). `lr_scaling` is the log's
// run.lr_scaling (null: no rule); batch_size_per_rank > 0: weak scaling.
nlohmann::json distributed_json(Comm& comm, const Experiment& e, int threads, Reduction reduction,
                                const nlohmann::json& lr_scaling, int batch_size_per_rank);

// One epoch's per-rank phase statistics, an item of distributed.epochs.
nlohmann::json rank_stats_json(int epoch, const std::vector<RankEpochStats>& stats);

}  // namespace mlpbench
