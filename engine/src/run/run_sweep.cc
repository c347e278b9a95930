#include "run_sweep.h"

#include <sys/stat.h>

#include <algorithm>
#include <map>

#include "mlpbench/errors.h"
#include "mlpbench/kernels.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/progress.h"
#include "mlpbench/run_log.h"
#include "run_report.h"

namespace mlpbench {
namespace {

bool same_numbers(const std::vector<EpochResult>& a, const std::vector<EpochResult>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].train_loss != b[i].train_loss || a[i].train_accuracy != b[i].train_accuracy ||
        a[i].test_loss != b[i].test_loss || a[i].test_accuracy != b[i].test_accuracy) {
      return false;
    }
  }
  return true;
}

// A sweep writes into a folder (its planned one: --out, or a generated one).
void check_sweep_folder(const std::string& folder) {
  struct stat st {};
  if (::stat(folder.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    throw ConfigError("--out: " + folder + ": a sweep writes its logs into a folder, and this is not one");
  }
}

// One setup per planned run, and every run's files.
std::vector<RunSetup> sweep_setups(const RunPlan& plan, const RunOptions& o, RunLocks& locks,
                                   std::vector<PlannedOutput>& outputs) {
  std::vector<RunSetup> setups;
  for (const PlannedRun& run : plan.runs) {
    select_target_or_throw(run.simd_target, plan.sweep.targets.empty() ? "--simd-target" : "--sweep-simd");
    RunSetup s;
    s.plan = &plan;
    s.run = run;
    s.create_log = !o.force;
    s.create_checkpoint = !o.force;
    outputs.push_back({run.log, "sweep log", o.force, true});
    outputs.push_back({run.checkpoint, "sweep checkpoint", o.force, true});
    s.run_info = plan.info;
    s.run_info.simd_target = run.simd_target;
    s.run_info.run_id = new_run_id();
    s.run_info.reference_applies =
        plan.info.reference_applies && (run.batch_size == 0 || run.batch_size == plan.as_written.batch_size);
    s.summary = setups.empty();
    s.locks = &locks;
    setups.push_back(s);
  }
  return setups;
}

}  // namespace

void select_target_or_throw(const std::string& name, const char* option) {
  if (!kernels::select_simd_target(name)) {
    std::string available;
    for (const auto& t : kernels::supported_targets()) available += (available.empty() ? "" : ", ") + t;
    throw ConfigError(std::string(option) + ": no compiled and supported target named \"" + name +
                      "\" (available: " + available + ")");
  }
}

int run_sweep(const RunPlan& plan, const RunData& data, const RunOptions& o,
              const std::vector<std::string>& inputs, RunLocks& locks) {
  check_sweep_folder(plan.sweep_folder);
  std::vector<PlannedOutput> outputs;
  std::vector<RunSetup> setups = sweep_setups(plan, o, locks, outputs);
  check_outputs(outputs, inputs);  // every run's files, before the first run starts
  install_signal_handlers();
  const bool batch_sweep = !plan.sweep.batch_sizes.empty();
  std::vector<SweepRow> rows;
  // Bitwise identity is asked of the runs of one target and batch size; across targets the
  // numbers differ by design (kernels.h), and the table groups the targets that agree.
  std::map<std::pair<int, std::string>, std::vector<EpochResult>> first;
  std::map<int, std::vector<std::vector<EpochResult>>> distinct;  // by batch size
  std::vector<EpochResult> history;
  for (RunSetup& setup : setups) {
    select_target_or_throw(setup.run_info.simd_target, "--sweep-simd");
    setup.history = &history;
    const Experiment e = batch_sweep ? at_batch_size(plan, setup.run.batch_size) : plan.experiment;
    const int status = execute_run(e, data, setup, o);
    if (status != kExitOk) return status;
    const auto& reference = first.try_emplace({e.batch_size, kernels::active_target()}, history).first->second;
    auto& seen = distinct[e.batch_size];
    auto same = std::find_if(seen.begin(), seen.end(), [&](const auto& h) { return same_numbers(h, reference); });
    if (same == seen.end()) same = seen.insert(seen.end(), reference);
    SweepRow row;
    row.threads = setup.run.threads;
    row.target = kernels::active_target();
    row.numbers = static_cast<int>(same - seen.begin());
    row.median_epoch_seconds = summary_json(history, 0)["median_epoch_seconds"].get<double>();
    row.identical = same_numbers(reference, history);
    row.batch_size = setup.run.batch_size;
    row.round = std::max(1, setup.run.round);
    rows.push_back(row);
  }
  if (!o.quiet) print_sweep_end(rows, plan.sweep_folder, batch_sweep);
  return kExitOk;
}

}  // namespace mlpbench
