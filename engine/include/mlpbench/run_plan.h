#pragma once
// resolve_run: the command line, the experiment and an optional checkpoint resolved into what
// the run will do and every file it writes, validated once. A pure function: no data, files,
// MPI or SIMD selection (what it needs of the machine and the moment comes in as RunFacts), so
// every rule is unit-tested (tests/test_run_plan.cc). runner.cc executes the plan.
#include <optional>
#include <string>
#include <vector>

#include "mlpbench/checkpoint.h"
#include "mlpbench/distributed.h"
#include "mlpbench/experiment.h"
#include "mlpbench/run_info.h"
#include "mlpbench/runner.h"

namespace mlpbench {

struct SweepPlan {
  std::vector<int> threads;          // empty: the run's threads
  std::vector<std::string> targets;  // empty: the run's target; {"all"}: every supported one
  std::vector<int> batch_sizes;      // empty: not a batch-size sweep
  int repeats = 0;                   // runs of each configuration, round by round (0: not given, 1)
  bool any() const { return !threads.empty() || !targets.empty() || !batch_sizes.empty() || repeats > 0; }
  int rounds() const { return repeats > 0 ? repeats : 1; }
  bool all_targets() const { return targets.size() == 1 && targets.front() == "all"; }
};

// What a plan takes from the machine and the moment, read once by runner.cc.
struct RunFacts {
  std::string utc_stamp;                       // utc_stamp_compact(): in generated names
  long pid = 0;                                // this process's: in generated names
  std::string runs_dir;                        // default_runs_dir()
  std::string active_target;                   // the machine's default SIMD target
  std::vector<std::string> supported_targets;  // what --sweep-simd all runs
  int available_cpus = 1;                      // the threads when neither option nor experiment says
};

// One run: its configuration within a sweep and its files.
struct PlannedRun {
  int threads = 1;
  std::string simd_target;  // as given ("": the machine's default)
  int batch_size = 0;       // a batch-size sweep's (0: not one)
  int round = 0;            // the round of --sweep-repeats (0: not repeated)
  std::string log;
  bool log_is_default = false;  // a generated name: if it is taken, the next attempt's is tried
  std::string checkpoint;
  bool checkpoint_is_default = false;  // the log's with .ckpt (it follows the log)
};

struct RunPlan {
  Experiment experiment;   // overrides applied, rate scaled, validated
  Experiment as_written;   // the file's (or the checkpoint's): B0 and the unscaled rate
  std::string source;      // the experiment file or the checkpoint, for messages
  LrRule lr_rule = LrRule::kNone;
  // What checkpoints carry: the limits, the rule, reference_applies; the run id when resumed.
  RunInfo info;
  std::string simd_target;  // empty: the machine's default
  bool distributed = false;
  Reduction reduction = Reduction::kTree;
  std::optional<int> batch_size_per_rank;  // weak scaling from the command line (apply_rank_count)
  SweepPlan sweep;
  RunFacts facts;
  std::string sweep_folder;       // a sweep's (--out or a generated one); empty: one run
  std::vector<PlannedRun> runs;   // the one run, or a sweep's in the order they run
};

// `loaded` is the experiment file's experiment, or the checkpoint's when `checkpoint` is given
// (`source` names it). Throws ConfigError naming the option or field.
RunPlan resolve_run(const RunOptions& options, const Experiment& loaded, const std::string& source,
                    const Checkpoint* checkpoint, const RunFacts& facts);

// `run` at its `attempt`-th try to create its log (1: as planned): a generated log name gets
// -2, -3, ..., and a default checkpoint follows its log; given names stay.
PlannedRun nth_attempt(const RunPlan& plan, const PlannedRun& run, int attempt);

// Distributed: checks the rank count against the shards and, with --batch-size-per-rank, makes
// the global batch N x R with its rate scaled (weak scaling). Throws ConfigError.
void apply_rank_count(RunPlan& plan, int ranks);

// The experiment of one run of a batch-size sweep: that batch size, its rate scaled from the file's.
Experiment at_batch_size(const RunPlan& plan, int batch_size);

}  // namespace mlpbench
