#pragma once
// Executes one training run: trainer, checkpoints, log and weights, with the contract's exit
// statuses (docs/cli.md). runner.cc and run_sweep.cc set up what it writes and where.
#include <exception>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlpbench/checkpoint.h"
#include "mlpbench/comm.h"
#include "mlpbench/dataset.h"
#include "mlpbench/distributed.h"
#include "mlpbench/experiment.h"
#include "mlpbench/run_info.h"
#include "mlpbench/run_plan.h"
#include "io/run_lock.h"
#include "mlpbench/runner.h"
#include "mlpbench/trainer.h"

namespace mlpbench {

// The samples a run trains, tests and validates on, and their digests (run_identity.h).
struct RunData {
  const Dataset& train;
  const Dataset& test;
  const Dataset* validation;  // null: no validation split
  nlohmann::json digests;
};

// Everything one training run needs besides the experiment and the data.
struct RunSetup {
  const RunPlan* plan = nullptr;  // the run's plan (nth_attempt names a log whose name is taken)
  PlannedRun run;                 // its threads, target and files (run_plan.h)
  bool create_log = true;         // exclusive creation (false: --force or this run's own log)
  bool create_checkpoint = true;
  const Checkpoint* resume = nullptr;
  RunInfo run_info;             // carried in checkpoints
  bool summary = true;          // print the model summary (a sweep prints it once)
  std::vector<EpochResult>* history = nullptr;  // receives the epochs when the run completes
  Comm* comm = nullptr;         // distributed: this process's job (rank 0 writes the files)
  Reduction reduction = Reduction::kTree;
  RunLocks* locks = nullptr;    // the writer holds its log's and checkpoint's locks here
};

// Trains `e` and returns the exit status; ConfigError and others propagate (the log, once
// created, ends "failed" with the error first).
int execute_run(const Experiment& e, const RunData& data, RunSetup& setup, const RunOptions& o);

// A random id that ties a run's log and checkpoints together (a resumed run continues only the
// log its checkpoint names and that carries the same id).
std::string new_run_id();

// SIGINT, SIGTERM and SIGHUP stop a run after its current step (checkpoint written).
void install_signal_handlers();

// The exit status of an error (docs/cli.md): a bad command line or experiment 2, a bad dataset
// 3, anything else 1.
int exit_status_of(const std::exception& e);

// Distributed: a rank that fails reports it and ends the whole job, since the other ranks would
// wait for it in their next collective forever. Nothing on a single process.
void abort_job_on_error(const std::exception& ex, Comm* comm);

}  // namespace mlpbench
