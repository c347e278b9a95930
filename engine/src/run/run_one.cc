#include "run_one.h"


#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <random>

#include "mlpbench/errors.h"
#include "mlpbench/float_mode.h"
#include "mlpbench/json_errors.h"
#include "mlpbench/kernels.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/placement.h"
#include "mlpbench/progress.h"
#include "run/run_identity.h"
#include "mlpbench/run_log.h"
#include "mlpbench/weights.h"
#include "run_distributed.h"
#include "run_report.h"

namespace mlpbench {
namespace fs = std::filesystem;
namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int sig) {
  if (g_signal != 0) {  // a second signal: stop now (the files in place stay valid)
    remove_partial_output_now();
    std::_Exit(128 + sig);
  }
  g_signal = sig;
}

const char* signal_name(int sig) {
  return sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP" : "SIGINT";
}

// Fault injection for the test suite (docs/reliability.md): MLPBENCH_FAULT_SIGNAL=INT@N (or
// TERM@N, HUP@N) sends the process that signal right after its N-th training step of the run
// (counted from 1 over all epochs, as if the user had pressed Ctrl-C at that moment).
struct FaultSignal {
  int signal = 0;
  uint64_t at_step = 0;
};

FaultSignal fault_signal_from_env() {
  const char* env = std::getenv("MLPBENCH_FAULT_SIGNAL");
  if (!env || !*env) return {};
  const std::string text = env;
  const size_t at = text.find('@');
  const std::string name = text.substr(0, at);
  FaultSignal f;
  f.signal = name == "INT" ? SIGINT : name == "TERM" ? SIGTERM : name == "HUP" ? SIGHUP : 0;
  char* end = nullptr;
  if (at != std::string::npos) f.at_step = std::strtoull(text.c_str() + at + 1, &end, 10);
  if (!f.signal || at == std::string::npos || !end || *end != '\0' || f.at_step == 0) {
    throw ConfigError("MLPBENCH_FAULT_SIGNAL: expected INT@N, TERM@N or HUP@N (N >= 1), got \"" +
                      text + "\"");
  }
  return f;
}

// One run from its trainer to its last log write; each member function is one phase.
class OneRun {
 public:
  OneRun(const Experiment& e, const RunData& data, RunSetup& setup, const RunOptions& o,
         const nlohmann::json& identity)
      : e_(e), data_(data), setup_(setup), o_(o), identity_(identity),
        writer_(!setup.comm || setup.comm->rank() == 0),
        quiet_(o.quiet || !writer_),
        trainer_(e, data.train, data.test, setup.run.threads, data.validation) {}

  int execute() {
    const nlohmann::json run = start();
    open_log(run);
    // Whatever fails from here on (a checkpoint or weights file that cannot be written,
    // memory, ...) ends the log "failed" with the error instead of leaving it "running"
    // (docs/run-log.md).
    try {
      if (!quiet_) {
        print_run_start({e_, trainer_.model().inputs(), trainer_.granted_threads(), data_.train, data_.test,
                         data_.validation, setup_.run.threads, setup_.summary, setup_.comm, setup_.reduction,
                         setup_.resume ? &setup_.resume->path : nullptr, trainer_.state().epoch + 1,
                         trainer_.state().step});
      }
      Progress progress(stderr, quiet_, e_.epochs,
                        e_.optimizer.schedule.has_value() || e_.callbacks.reduce_lr_on_plateau.has_value());
      const StopReason stop = trainer_.run(callbacks(progress));
      sync_threads();
      print_placement_warnings();
      if (log_) log_->set_events(trainer_.state().events);
      // Distributed: the signal some rank saw (every rank stops after the same step).
      const int sig = setup_.comm ? trainer_.agreed_signal() : static_cast<int>(g_signal);
      switch (stop) {
        case StopReason::kCompleted: return completed();
        case StopReason::kDiverged: return diverged();
        case StopReason::kInterrupted: return interrupted(sig);
      }
    } catch (const std::exception& ex) {
      if (log_) {
        try {
          log_->set_error(ex.what());
          log_->write("failed", trainer_.state().history, wall());
        } catch (const std::exception&) {
          // The log cannot be written either: the message on stderr is all there is.
        }
      }
      abort_job_on_error(ex, setup_.comm);
      throw;
    }
    return kExitOther;
  }

 private:
  double wall() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0_).count();
  }

  // The trainer set up (resumed, distributed, warmup) and the log's `run` object.
  nlohmann::json start() {
    nlohmann::json run = {{"threads", trainer_.granted_threads()},
                          {"threads_requested", setup_.run.threads},
                          {"simd_target", kernels::active_target()},
                          {"flush_denormals", can_flush_denormals()},
                          {"seed", e_.seed},
                          {"started_utc", utc_timestamp()},
                          {"train_samples", data_.train.size()},
                          {"test_samples", data_.test.size()}};
    if (data_.validation) run["validation_samples"] = data_.validation->size();
    if (setup_.run_info.lr_scaling) run["lr_scaling"] = lr_scaling_log(*setup_.run_info.lr_scaling);
    if (setup_.run.round > 0) run["sweep_round"] = setup_.run.round;
    placement_ = placement_at_start(trainer_.granted_threads());
    run["placement"] = placement_json(placement_);
    info_ = setup_.run_info;
    info_.identity = identity_;
    if (setup_.resume) {
      restore_checkpoint(*setup_.resume, trainer_);
      if (!setup_.resume->run_info.started_utc.empty()) run["started_utc"] = setup_.resume->run_info.started_utc;
      run["resumed_from"] = setup_.resume->path;
    }
    run["run_id"] = info_.run_id;
    if (setup_.comm) {
      trainer_.distribute(setup_.comm, setup_.reduction);
      trainer_.stop_signal = [] { return static_cast<int>(g_signal); };
      check_agreement(*setup_.comm, e_, trainer_, data_.digests);
      distributed_ = distributed_json(*setup_.comm, e_, setup_.run.threads, setup_.reduction,
                                      run.value("lr_scaling", nlohmann::json()),
                                      setup_.run_info.batch_size_per_rank.value_or(0));
    }
    return run;
  }

  // run.lr_scaling: the rule, the rate it gave, and its warmup (set on the trainer here).
  nlohmann::json lr_scaling_log(const LrScaling& l) {
    nlohmann::json j = lr_scaling_json(l);
    j["learning_rate"] = e_.optimizer.learning_rate;
    if (l.warmup_epochs > 0) {  // from the unscaled rate (1/factor of the scaled one) to the scaled one
      const double factor = lr_factor(l.rule, e_.batch_size, l.base_batch_size);
      const uint64_t steps = static_cast<uint64_t>(l.warmup_epochs) * trainer_.steps_per_epoch();
      trainer_.optimizer().set_warmup(steps, 1.0 / factor);
      j["warmup_steps"] = steps;
    }
    return j;
  }

  // One writer for the run's log and checkpoint as long as it runs (a resumed run holds them
  // already). A generated log name is locked once created: a name taken meanwhile is no error.
  void hold_locks() {
    if (!writer_ || !setup_.locks) return;
    setup_.locks->hold(setup_.run.log, "--out");
    setup_.locks->hold(setup_.run.checkpoint, "--checkpoint");
  }

  // The log's first version is created exclusively: of two runs given one path, one stops here.
  // Distributed: rank 0 alone has a log.
  void open_log(const nlohmann::json& run) {
    if (!setup_.run.log_is_default) hold_locks();
    for (int attempt = 1; writer_; ++attempt) {
      log_.emplace(setup_.run.log, e_.to_json(), run, setup_.create_log);
      if (setup_.comm) log_->set_distributed(distributed_);
      log_->set_events(trainer_.state().events);
      try {
        log_->write("running", trainer_.state().history, wall());
        break;
      } catch (const OutputExists& ex) {
        if (!setup_.run.log_is_default || attempt >= 100) {
          throw ConfigError(std::string(ex.what()) + "; pass --force to replace it");
        }
        // Another run took this name since the check: the next one, with its checkpoint.
        setup_.run = nth_attempt(*setup_.plan, setup_.run, attempt + 1);
      }
    }
    if (setup_.run.log_is_default) hold_locks();  // a name of its own, now that it is created
    // Absolute, so that resuming from another folder continues the same log.
    info_.log = fs::absolute(setup_.run.log).lexically_normal().string();
    info_.started_utc = run["started_utc"].get<std::string>();
  }

  // Checkpoints: the first one this run writes is created exclusively, later ones replace it.
  // Collective in a distributed run: every rank completes its optimizer state, rank 0 saves.
  void save_checkpoint_now() {
    trainer_.gather_optimizer_state();
    if (!writer_) return;
    save_checkpoint(setup_.run.checkpoint, e_, trainer_, info_, create_checkpoint_);
    create_checkpoint_ = false;
  }

  // After each epoch and after training: the threads granted, and where they ran (warnings for a
  // shared core or a thread the kernel moved: a scaling study's numbers then depend on the
  // scheduler).
  void sync_threads() {
    placement_.end = sample_placement(trainer_.granted_threads());
    if (log_) {
      log_->set_granted_threads(trainer_.granted_threads());
      log_->set_placement(placement_json(placement_));
    }
  }

  void print_placement_warnings() const {
    if (quiet_) return;
    for (const std::string& w : placement_warnings(placement_)) std::fprintf(stderr, "placement: %s\n", w.c_str());
  }

  TrainCallbacks callbacks(Progress& progress) {
    TrainCallbacks c;
    c.on_step = [this, &progress, fault = fault_signal_from_env()](int epoch, size_t step, size_t steps,
                                                                   double loss, double acc) {
      progress.on_step(epoch, step, steps, loss, acc);
      if (fault.signal && static_cast<uint64_t>(epoch - 1) * steps + step == fault.at_step) std::raise(fault.signal);
    };
    c.on_epoch_end = [this, &progress](const EpochResult& r) {
      progress.on_epoch_end(r);
      on_epoch_end(r);
    };
    c.stop_requested = [] { return g_signal != 0; };
    return c;
  }

  void on_epoch_end(const EpochResult& r) {
    for (const auto& ev : trainer_.state().events) {
      if (ev.epoch == r.epoch && !quiet_) std::fprintf(stderr, "%s: %s\n", ev.callback.c_str(), ev.reason.c_str());
    }
    // The epoch that first reaches the target says so; the summary (a pass over every epoch)
    // only once the metric is there.
    const double metric = e_.target_metric == "val_accuracy" ? r.val_accuracy : r.test_accuracy;
    if (!quiet_ && e_.target_accuracy && !target_settled_ && metric >= *e_.target_accuracy) {
      target_settled_ = true;
      const nlohmann::json s = summary_json(trainer_.state().history, 0, e_.to_json());
      if (s["epochs_to_target"] == r.epoch) std::fprintf(stderr, "%s\n", target_report(s).c_str());
    }
    const bool checkpoint_due = o_.checkpoint_every > 0 && r.epoch % o_.checkpoint_every == 0 && r.epoch < e_.epochs;
    if (checkpoint_due) save_checkpoint_now();  // collective: before rank 0 alone goes on
    if (!log_) return;
    if (setup_.comm) log_->add_rank_stats(rank_stats_json(r.epoch, trainer_.rank_stats()));
    log_->set_events(trainer_.state().events);
    sync_threads();
    if (checkpoint_due) {
      log_->write("running", trainer_.state().history, wall());  // the log is never behind a checkpoint
    } else {
      log_->write_running(trainer_.state().history, wall());
    }
  }

  int completed() {
    if (!writer_) return kExitOk;
    const Evaluation& final_test = *trainer_.final_test();
    const auto& events = trainer_.state().events;
    if (!o_.quiet && !events.empty() && events.back().action == "restore_best_weights") {
      std::fprintf(stderr, "early_stopping: %s\n", events.back().reason.c_str());
    }
    log_->set_evaluation(final_test);
    if (!o_.save_weights.empty()) {
      save_weights(o_.save_weights, trainer_.model(),
                   {{"experiment", e_.name},
                    {"final_test_accuracy", json_text(final_test.accuracy)},
                    {"final_test_loss", json_text(final_test.loss)},
                    {"format", "mlpbench dense layers, Keras layout: kernel [in, out], bias [out]"}},
                   /*replace=*/o_.force);
      if (!o_.quiet) std::fprintf(stderr, "Weights written to %s\n", o_.save_weights.c_str());
    }
    log_->write("completed", trainer_.state().history, wall());  // only once the weights exist
    if (!o_.quiet) print_completed(e_, final_test.accuracy, setup_.run_info.reference_applies, log_->json());
    if (setup_.history) *setup_.history = trainer_.state().history;
    print_host_noise(log_->json());
    std::printf("%s\n", setup_.run.log.c_str());
    std::fflush(stdout);  // before MPI_Finalize, whose helpers must not inherit the buffer
    return kExitOk;
  }

  int diverged() {
    if (!writer_) return kExitDiverged;
    log_->write("diverged", trainer_.state().history, wall());
    const auto [epoch, step] = trainer_.diverged_at();
    print_diverged(e_, epoch, step, setup_.run.log);
    return kExitDiverged;
  }

  int interrupted(int sig) {
    // The run ends "interrupted" whatever happens to the checkpoint: a location that became
    // unwritable is reported, not turned into a crash or a "running" log.
    std::string checkpoint_error;
    try {
      save_checkpoint_now();
    } catch (const std::exception& ex) {
      checkpoint_error = ex.what();
    }
    const TrainState& s = trainer_.state();
    if (setup_.comm) {  // every rank says where it stopped: the same step on all
      std::fprintf(stderr, "rank %d of %d: stopped by %s at epoch %d, step %zu\n", setup_.comm->rank(),
                   setup_.comm->size(), signal_name(sig), s.epoch + 1, s.step);
    }
    if (!writer_) return 128 + sig;
    log_->write("interrupted", s.history, wall());
    print_interrupted(signal_name(sig), s.epoch + 1, s.step, setup_.run.checkpoint, checkpoint_error,
                      setup_.run.log);
    std::printf("%s\n", setup_.run.log.c_str());
    std::fflush(stdout);
    return 128 + sig;  // 130 SIGINT, 143 SIGTERM, 129 SIGHUP
  }

  const Experiment& e_;
  const RunData& data_;
  RunSetup& setup_;
  const RunOptions& o_;
  const nlohmann::json identity_;  // run_identity.h
  const std::chrono::steady_clock::time_point wall0_ = std::chrono::steady_clock::now();
  const bool writer_;  // the rank that writes files
  const bool quiet_;
  Trainer trainer_;
  RunInfo info_;                     // what this run's checkpoints carry
  nlohmann::json distributed_;       // the log's `distributed` object
  Placement placement_;              // where the threads ran: at the start, then at the end
  std::optional<RunLog> log_;
  bool create_checkpoint_ = setup_.create_checkpoint;
  bool target_settled_ = false;      // reached (this run or the part it resumes), and said so
};

}  // namespace

int execute_run(const Experiment& e, const RunData& data, RunSetup& setup, const RunOptions& o) {
  // What a checkpoint of this run records, and what a resumed run must match.
  const nlohmann::json identity = run_identity(data.digests, setup.comm ? reduction_name(setup.reduction) : "tree",
                                               setup.comm ? setup.comm->size() : 1);
  if (setup.resume) check_resumed_identity(*setup.resume, identity, data.train, data.test);
  return OneRun(e, data, setup, o, identity).execute();
}

std::string new_run_id() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // the terminal closed: stop the same way
}

int exit_status_of(const std::exception& e) {
  if (dynamic_cast<const ConfigError*>(&e)) return kExitUsage;
  if (dynamic_cast<const DataError*>(&e)) return kExitData;
  return kExitOther;
}

void abort_job_on_error(const std::exception& ex, Comm* comm) {
  if (!comm || comm->size() <= 1) return;
  std::fprintf(stderr, "error (rank %d of %d): %s\n", comm->rank(), comm->size(), ex.what());
  std::fflush(stderr);
  comm->abort(exit_status_of(ex));
}

}  // namespace mlpbench
