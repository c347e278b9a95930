#pragma once
// What a run prints on stderr (docs/cli.md): how it starts, how it ends, a sweep's table. The
// log's path alone goes to stdout, from run_one.cc.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlpbench/comm.h"
#include "mlpbench/dataset.h"
#include "mlpbench/distributed.h"
#include "mlpbench/experiment.h"
#include "mlpbench/progress.h"
#include "mlpbench/trainer.h"

namespace mlpbench {

struct RunStart {
  const Experiment& experiment;
  size_t inputs;         // features per sample
  int threads_granted;
  const Dataset& train;
  const Dataset& test;
  const Dataset* validation;
  int threads_requested;
  bool model_summary;         // a sweep prints it once
  const Comm* comm;           // distributed, else null
  Reduction reduction;
  const std::string* resumed_from;  // the checkpoint, else null
  int epoch;    // the epoch (from 1) and step a resumed run starts at
  size_t step;
};
void print_run_start(const RunStart& s);

// Final accuracy (with the experiment's reference figure when it applies), the target line and
// a noisy host's warning; `log` is the completed log's document.
void print_completed(const Experiment& e, double final_accuracy, bool reference_applies,
                     const nlohmann::json& log);
// The warning of a log whose run.host_noisy is true (printed even with --quiet).
void print_host_noise(const nlohmann::json& log);
void print_diverged(const Experiment& e, int epoch, size_t step, const std::string& log_path);
// `checkpoint_error` empty: the checkpoint was written.
void print_interrupted(const char* signal, int epoch, size_t step, const std::string& checkpoint_path,
                       const std::string& checkpoint_error, const std::string& log_path);
void print_sweep_end(const std::vector<SweepRow>& rows, const std::string& folder, bool batch_sweep);

}  // namespace mlpbench
