#pragma once
// One command-line run, end to end: experiment -> data -> training -> log, weights and
// checkpoints, with the contract's exit statuses. run_experiment is a thin CLI over this.
#include <optional>
#include <string>
#include <vector>

namespace mlpbench {

struct RunOptions {
  std::string experiment_path;  // empty when resuming
  std::optional<int> threads, epochs, batch_size, shards;
  std::optional<uint64_t> seed;
  std::optional<size_t> train_limit, test_limit;  // 0 = all; unset: all, or the checkpoint's
  std::string data_dir;                     // empty: default_data_dir() (default_paths.h)
  std::string out;                          // log file (a folder for sweeps)
  std::string save_weights;
  std::string simd_target;
  bool quiet = false;
  bool dry_run = false;  // validate, describe, print the resolved experiment; no data, no run
  std::string checkpoint;
  int checkpoint_every = 0;
  std::string resume;
  bool force = false;
  bool distributed = false;        // one rank of an MPI job (docs/scaling.md)
  std::string reduction;           // distributed: "tree" or "mpi" (empty: not given, tree)
  std::vector<int> sweep_threads;
  std::vector<std::string> sweep_simd;
  std::vector<int> sweep_batch_size;
  int sweep_repeats = 0;  // every configuration of a sweep this many times, round by round (0: not given)
  // How the learning rate follows the batch size B, against the experiment file's B0:
  // "none", "linear" (x B / B0) or "sqrt" (x sqrt(B / B0)).
  std::string lr_scaling = "none";
  // Distributed weak scaling: N rows per rank, so the global batch is N x ranks (docs/scaling.md).
  std::optional<int> batch_size_per_rank;
  // With a scaled rate: the rate ramps per update from the unscaled one over this many epochs
  // (0: none), as Goyal et al. 2017 warm up large batches.
  int warmup_epochs = 0;
};

// Runs and returns the process exit status; messages go to stderr, the log path to stdout
// (with dry_run: the model summary to stderr, the resolved experiment as JSON to stdout).
int run(const RunOptions& options);

// Prints compiled, supported and active SIMD targets.
void print_targets();

}  // namespace mlpbench
