// run(): one command line, top to bottom. Read the experiment or checkpoint, resolve the plan
// (run_plan.cc), set up the machine (SIMD target, MPI), load the data, then execute one run
// (run_one.cc) or a sweep (run_sweep.cc).
#include "mlpbench/runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <random>

#include "mlpbench/checkpoint.h"
#include "mlpbench/comm.h"
#include "mlpbench/dataset.h"
#include "mlpbench/default_paths.h"
#include "mlpbench/errors.h"
#include "mlpbench/experiment.h"
#include "io/input_file.h"
#include "mlpbench/json_errors.h"
#include "mlpbench/kernels.h"
#include "platform/memory_budget.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/parallel.h"
#include "mlpbench/progress.h"
#include "mlpbench/run_log.h"
#include "run/run_identity.h"
#include "io/run_lock.h"
#include "mlpbench/run_plan.h"
#include "run_one.h"
#include "run_sweep.h"

namespace mlpbench {
namespace fs = std::filesystem;
namespace {

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

// The SIMD target of the run (a resumed run's is the checkpoint's), and a sweep's targets
// checked before any run starts.
void select_targets(const RunPlan& plan, bool resumed) {
  if (!plan.sweep.all_targets()) {
    for (const std::string& t : plan.sweep.targets) select_target_or_throw(t, "--sweep-simd");
  }
  if (resumed && !kernels::select_simd_target(plan.simd_target)) {
    throw ConfigError("--resume: the checkpoint's run used the SIMD target " + plan.simd_target + ", which this machine "
                      "does not run (available: " + join(kernels::supported_targets()) + ")");
  }
  if (!plan.simd_target.empty()) select_target_or_throw(plan.simd_target, "--simd-target");
}

// What a resumed run may do with the log its checkpoint names.
enum class ResumedLog { kAbsent, kOurs, kCompleted, kForeign, kNotAFile };
ResumedLog inspect_resumed_log(const std::string& path, const RunInfo& saved) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ResumedLog::kAbsent;
  if (!S_ISREG(st.st_mode)) return ResumedLog::kNotAFile;
  try {
    const nlohmann::json j = JsonChecker{path}.parse(read_input_file(path, uint64_t{1} << 32, "a run log"), 64, "a run log");
    if (saved.run_id.empty() || j.at("run").value("run_id", std::string()) != saved.run_id) {
      return ResumedLog::kForeign;
    }
    return j.at("status") == "completed" ? ResumedLog::kCompleted : ResumedLog::kOurs;
  } catch (const std::exception&) {
    return ResumedLog::kForeign;
  }
}

// A resumed run is the only writer of its checkpoint and log from here on; a second process
// resuming them meanwhile is refused (run_lock.h). What was read before the lock is read again.
void hold_resumed_run(const RunOptions& o, const Checkpoint& checkpoint, RunLocks& locks, Comm* comm) {
  if (comm && comm->rank() != 0) return;
  try {
    locks.hold(o.resume, "--resume");
    if (o.out.empty()) locks.hold(checkpoint.run_info.log, "--resume");
    const Checkpoint now = read_checkpoint(o.resume);
    if (now.state_json != checkpoint.state_json || run_info_json(now.run_info) != run_info_json(checkpoint.run_info)) {
      throw ConfigError("--resume: " + o.resume + ": replaced by another process while this run started; "
                        "run the command again");
    }
  } catch (const std::exception& ex) {
    abort_job_on_error(ex, comm);  // the other ranks would wait for rank 0
    throw;
  }
}

struct LoadedData {
  Dataset train, test;
  std::optional<Dataset> validation;
  nlohmann::json digests;  // of the samples used, before any split
  RunData view() const { return {train, test, validation ? &*validation : nullptr, digests}; }
};

LoadedData load_data(const RunOptions& o, const RunPlan& plan) {
  const Experiment& e = plan.experiment;
  const std::string data_dir = !o.data_dir.empty() ? o.data_dir : default_data_dir();
  LoadedData d{load_dataset(data_dir, e.dataset, "train", plan.info.train_limit),
               load_dataset(data_dir, e.dataset, "test", plan.info.test_limit), std::nullopt, {}};
  check_same_shape(d.train, d.test);
  d.digests = data_digests(d.train, d.test);
  if (static_cast<size_t>(e.model.back().units) != d.train.num_classes) {
    throw ConfigError(plan.source + ": /model/" + std::to_string(e.model.size() - 1) +
                      "/units: the output layer must have " + std::to_string(d.train.num_classes) + " units");
  }
  if (e.validation_split > 0) {
    // Keras: the first floor(n * (1 - split)) samples train, the rest validate.
    const size_t n = d.train.size();
    const auto split_at = static_cast<size_t>(std::floor(static_cast<double>(n) * (1.0 - e.validation_split)));
    if (split_at == 0 || split_at == n) {
      throw ConfigError(plan.source + ": /validation_split: " + std::to_string(n) +
                        " training samples cannot be split into training and validation sets "
                        "by validation_split " + json_text(e.validation_split));
    }
    d.validation = split_off_tail(d.train, split_at);
  }
  return d;
}

// A resumed run with nothing left to train says so (exit 0); too few epochs is an error.
bool nothing_left_to_train(const Checkpoint& checkpoint, const Experiment& e, size_t train_samples,
                           const std::string& resume) {
  check_resumable(checkpoint, train_samples);
  const TrainState& s = checkpoint.state;
  if (e.epochs < s.epoch || (e.epochs == s.epoch && s.step > 0)) {
    throw ConfigError("--epochs: " + std::to_string(e.epochs) + " is below the checkpoint's progress (" +
                      std::to_string(s.epoch) + " epochs and " + std::to_string(s.step) +
                      " steps done); give at least " + std::to_string(s.epoch + (s.step > 0)));
  }
  if (s.stop_training) {
    std::fprintf(stderr, "%s: this run already completed (stopped early by early_stopping); "
                 "nothing to train\n", resume.c_str());
    return true;
  }
  if (s.epoch == e.epochs) {
    std::fprintf(stderr, "%s: this run already completed its %d epochs; nothing to train "
                 "(pass --epochs N with a larger N to train further)\n", resume.c_str(), e.epochs);
    return true;
  }
  return false;
}

void check_memory(const Experiment& e, const Dataset& train, const Dataset& test) {
  const uint64_t data = train.pixels.size() + test.pixels.size();
  const uint64_t need = training_memory_bytes(e, train.features(), 1000);
  const MemoryLimit limit = memory_limit();
  if (need > limit.bytes) {
    throw ConfigError(e.name + ": this run needs about " + format_bytes(need) +
                      " (model, optimizer state, activations at batch " + std::to_string(e.batch_size) +
                      ") besides the " + format_bytes(data) + " of data already loaded, but only " +
                      format_bytes(limit.bytes) + " is available (" + limit.source +
                      "); use fewer units or a smaller batch");
  }
}

// Warns when a run would have more threads than the machine has logical CPUs.
void warn_oversubscribed(const RunPlan& plan) {
  int most = 0;
  for (const PlannedRun& r : plan.runs) most = std::max(most, r.threads);
  if (most > available_cpus()) {
    std::fprintf(stderr, "warning: %d threads on %d logical CPUs: the threads will take turns (the "
                 "team's barrier sleeps instead of spinning), so timings will not show the "
                 "hardware's speed\n", most, available_cpus());
  }
}

// What the plan takes from the machine and the moment.
RunFacts read_facts() {
  return {utc_stamp_compact(), static_cast<long>(::getpid()), default_runs_dir(), kernels::active_target(),
          kernels::supported_targets(), available_cpus()};
}

// One run's planned log and checkpoint, checked against the inputs before training: what
// exists may be replaced only with --force, or when it is this run's own (a resumed run's).
void check_run_outputs(RunSetup& setup, const RunOptions& o, const Checkpoint* checkpoint,
                       std::vector<std::string> inputs) {
  const PlannedRun& run = setup.run;
  if (checkpoint && o.out.empty()) {
    const ResumedLog state = inspect_resumed_log(run.log, checkpoint->run_info);
    if (state == ResumedLog::kNotAFile) {  // not a log, whoever made it: --force cannot replace it
      struct stat st {};
      const char* kind = ::stat(run.log.c_str(), &st) == 0 ? special_file_kind(st.st_mode) : nullptr;
      throw ConfigError("--resume: " + run.log + ": the log this checkpoint continues is " +
                        (kind ? kind : "not a regular file") + " now; pass --out NEW_LOG");
    }
    if (state == ResumedLog::kForeign && !o.force) {
      throw ConfigError("--resume: " + run.log + ": the log this checkpoint continues exists but "
                        "belongs to another run; pass --out NEW_LOG (or --force to replace it)");
    }
    setup.create_log = state == ResumedLog::kAbsent;
  } else {
    setup.create_log = run.log_is_default || !o.force;  // a generated name is always new
  }
  // A generated name that is taken is not an error: the exclusive creation picks the next.
  std::vector<PlannedOutput> outputs = {{run.log, "--out", !setup.create_log || run.log_is_default, true}};
  const bool own = checkpoint && same_file(run.checkpoint, checkpoint->path);
  setup.create_checkpoint = !(o.force || own);
  outputs.push_back({run.checkpoint, "--checkpoint", !setup.create_checkpoint, true});
  if (checkpoint && !own) inputs.push_back(checkpoint->path);
  if (!o.save_weights.empty()) outputs.push_back({o.save_weights, "--save-weights", o.force});
  check_outputs(outputs, inputs);
}

int run_single(const RunPlan& plan, const RunData& data, const RunOptions& o, const Checkpoint* checkpoint,
               const std::vector<std::string>& inputs, Comm* comm, RunLocks& locks) {
  RunSetup setup;
  setup.plan = &plan;
  setup.run = plan.runs.front();
  setup.resume = checkpoint;
  check_run_outputs(setup, o, checkpoint, inputs);
  install_signal_handlers();
  setup.run_info = plan.info;
  setup.run_info.simd_target = plan.simd_target;
  setup.comm = comm;
  setup.reduction = plan.reduction;
  setup.locks = &locks;
  return execute_run(plan.experiment, data, setup, o);
}

int run_checked(const RunOptions& o) {
  std::optional<Checkpoint> checkpoint;
  if (!o.resume.empty()) {
    checkpoint = read_checkpoint(o.resume);
    check_resumed_options(*checkpoint, o);  // before the checkpoint's experiment takes overrides
  }
  const Experiment loaded = checkpoint ? checkpoint->experiment : load_experiment(o.experiment_path);
  RunPlan plan = resolve_run(o, loaded, checkpoint ? o.resume : o.experiment_path, checkpoint ? &*checkpoint : nullptr,
                             read_facts());
  if (o.dry_run) {  // what the run would refuse before reading data, refused here too
    select_targets(plan, checkpoint.has_value());
    if (plan.distributed && !have_mpi()) init_mpi();  // throws: this build has no MPI
    std::fprintf(stderr, "%s", model_summary(plan.experiment.name, kExperimentInputs, plan.experiment.model).c_str());
    std::printf("%s\n", json_text_exact(plan.experiment.to_json(), 2).c_str());
    return kExitOk;
  }
  select_targets(plan, checkpoint.has_value());
  std::unique_ptr<Comm> comm;
  if (plan.distributed) {
    comm = init_mpi();
    apply_rank_count(plan, comm->size());
  }
  RunLocks locks;
  if (checkpoint) {
    hold_resumed_run(o, *checkpoint, locks, comm.get());
    // A resumed run whose log already says "completed" has nothing left to do.
    const std::string& log = checkpoint->run_info.log;
    // With --epochs it may have more to do (or too few epochs: nothing_left_to_train says so).
    if (o.out.empty() && !o.epochs && inspect_resumed_log(log, checkpoint->run_info) == ResumedLog::kCompleted) {
      std::fprintf(stderr, "%s: this run already completed (log: %s); nothing to train\n", o.resume.c_str(), log.c_str());
      return kExitOk;
    }
  }
  const LoadedData data = load_data(o, plan);
  if (checkpoint) check_resumed_data(*checkpoint, data.digests, data.train, data.test);  // before its state meets the data
  if (checkpoint && nothing_left_to_train(*checkpoint, plan.experiment, data.train.size(), o.resume)) return kExitOk;
  check_memory(plan.experiment, data.train, data.test);
  warn_oversubscribed(plan);
  // Every file the run reads, so that no output can replace one of them.
  std::vector<std::string> inputs = {data.train.images_path, data.test.images_path, data.train.labels_path,
                                     data.test.labels_path};
  if (!o.experiment_path.empty()) inputs.push_back(o.experiment_path);
  if (plan.info.run_id.empty()) plan.info.run_id = new_run_id();
  if (!plan.sweep.any()) return run_single(plan, data.view(), o, checkpoint ? &*checkpoint : nullptr, inputs, comm.get(), locks);
  return run_sweep(plan, data.view(), o, inputs, locks);
}

}  // namespace

void print_targets() {
  std::printf("compiled:  %s\n", join(kernels::compiled_targets()).c_str());
  std::printf("supported: %s\n", join(kernels::supported_targets()).c_str());
  std::printf("default:   %s\n", kernels::active_target().c_str());
}

int run(const RunOptions& o) {
  // A closed stdout or stderr pipe (`run_experiment ... | head`) must not kill training: writes
  // to it fail with EPIPE instead, and the progress output stops (progress.h).
  std::signal(SIGPIPE, SIG_IGN);
  // Past a file size limit (ulimit -f) a write fails with EFBIG and is reported; it does not
  // kill the run.
  std::signal(SIGXFSZ, SIG_IGN);
  // A closed descriptor 0-2 would be reused by the next open(), and messages meant for stderr
  // would land in a log or checkpoint: keep them pointing at /dev/null instead.
  for (int fd = 0; fd <= 2; ++fd) {
    if (fcntl(fd, F_GETFD) == -1 && errno == EBADF) {
      const int null_fd = ::open("/dev/null", O_RDWR);
      if (null_fd >= 0 && null_fd != fd) ::close(null_fd);  // only keep it in the empty slot
    }
  }
  try {
    return run_checked(o);
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return kExitOther;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return exit_status_of(e);
  }
}

}  // namespace mlpbench
