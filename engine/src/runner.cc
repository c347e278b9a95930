#include "mlpbench/runner.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>
#include <random>

#include <cerrno>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "mlpbench/build_config.h"
#include "mlpbench/build_info.h"
#include "mlpbench/checkpoint.h"
#include "mlpbench/comm.h"
#include "mlpbench/distributed.h"
#include "mlpbench/dataset.h"
#include "mlpbench/errors.h"
#include "mlpbench/experiment.h"
#include "mlpbench/float_mode.h"
#include "mlpbench/input_file.h"
#include "mlpbench/json_errors.h"
#include "mlpbench/kernels.h"
#include "mlpbench/memory_budget.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/parallel.h"
#include "mlpbench/progress.h"
#include "mlpbench/run_identity.h"
#include "mlpbench/run_lock.h"
#include "mlpbench/run_log.h"
#include "mlpbench/trainer.h"
#include "mlpbench/weights.h"

namespace mlpbench {
namespace fs = std::filesystem;
namespace {

volatile std::sig_atomic_t g_signal = 0;

extern "C" void on_signal(int sig) {
  if (g_signal != 0) std::_Exit(128 + sig);  // a second signal: stop now (the log stays valid)
  g_signal = sig;
}

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);  // the terminal closed: stop the same way
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

std::string join(const std::vector<std::string>& items, const char* sep = ", ") {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : sep) + s;
  return out;
}

std::string data_dir_for(const RunOptions& o) {
  if (!o.data_dir.empty()) return o.data_dir;
  const char* env = std::getenv("MLPBENCH_DATA");
  if (env && *env) return env;
  return repo_root() + "/data";
}

std::string replace_extension(const std::string& path, const std::string& ext) {
  return fs::path(path).replace_extension(ext).string();
}

// The learning rate for batch size `batch` under `rule`, against the experiment file's batch
// size: a constant rate, or a schedule's rates, times B/B0 (linear) or sqrt(B/B0) (sqrt).
double lr_factor(const std::string& rule, int batch, int base) {
  const double ratio = static_cast<double>(batch) / base;
  return rule == "linear" ? ratio : rule == "sqrt" ? std::sqrt(ratio) : 1.0;
}

void scale_learning_rate(OptimizerSpec& o, double factor) {
  if (factor == 1.0) return;
  o.learning_rate *= factor;
  if (o.schedule) {
    o.schedule->initial_learning_rate *= factor;
    for (double& v : o.schedule->values) v *= factor;
    if (o.schedule->warmup_target) *o.schedule->warmup_target *= factor;
  }
}

// Ranks of a distributed run must compute the same thing: the same SIMD target, denormal
// mode, experiment, data and initial parameters. Throws ConfigError (on every rank: they all
// see the same table) naming the ranks that differ from rank 0 and in what.
void check_agreement(Comm& comm, const Experiment& e, Trainer& trainer, const Dataset& train,
                     const Dataset& test) {
  struct Facts {
    char target[32] = {};
    uint64_t flush = 0, experiment = 0, params = 0, data = 0;
  };
  auto fnv = [](const void* p, size_t n, uint64_t h = 1469598103934665603ull) {
    for (size_t i = 0; i < n; ++i) h = (h ^ static_cast<const unsigned char*>(p)[i]) * 1099511628211ull;
    return h;
  };
  Facts mine;
  std::snprintf(mine.target, sizeof mine.target, "%s", kernels::active_target().c_str());
  mine.flush = can_flush_denormals();
  nlohmann::json ej = e.to_json();
  ej.erase("threads");  // ranks may run different thread counts: the numbers do not depend on it
  const std::string ejs = ej.dump();
  mine.experiment = fnv(ejs.data(), ejs.size());
  mine.params = fnv(trainer.model().params().data(), trainer.model().params().size() * sizeof(float));
  mine.data = fnv(train.labels.data(), train.labels.size(), fnv(test.labels.data(), test.labels.size()));
  std::vector<Facts> all(static_cast<size_t>(comm.size()));
  comm.allgather(&mine, sizeof mine, all.data());
  std::vector<std::string> problems;
  auto compare = [&](const char* what, auto field, auto show) {
    std::string ranks;
    for (size_t r = 1; r < all.size(); ++r) {
      if (field(all[r]) != field(all[0])) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r) + " (" + show(all[r]) + ")";
    }
    if (!ranks.empty()) problems.push_back(std::string(what) + ": rank 0 has " + show(all[0]) + ", ranks " + ranks + " differ");
  };
  auto hex = [](uint64_t v) { char b[20]; std::snprintf(b, sizeof b, "%016llx", static_cast<unsigned long long>(v)); return std::string(b); };
  compare("SIMD target", [](const Facts& f) { return std::string(f.target); }, [](const Facts& f) { return std::string(f.target); });
  compare("denormal flushing", [](const Facts& f) { return f.flush; }, [](const Facts& f) { return std::string(f.flush ? "on" : "off"); });
  compare("experiment", [](const Facts& f) { return f.experiment; }, [&](const Facts& f) { return "hash " + hex(f.experiment); });
  compare("dataset labels", [](const Facts& f) { return f.data; }, [&](const Facts& f) { return "hash " + hex(f.data); });
  compare("initial parameters", [](const Facts& f) { return f.params; }, [&](const Facts& f) { return "hash " + hex(f.params); });
  if (!problems.empty()) {
    throw ConfigError("--distributed: the ranks disagree, so they would not compute the same numbers: " + join(problems, "; "));
  }
}

// The `distributed` object of rank 0's log (docs/run-log.md): the job's shape and every rank's host.
// `run` is the log's run object (its lr_scaling, if any, is the learning-rate rule applied);
// batch_size_per_rank > 0: weak scaling (--batch-size-per-rank).
nlohmann::json distributed_json(Comm& comm, const Experiment& e, int threads, Reduction reduction,
                                const nlohmann::json& run, int batch_size_per_rank) {
  struct Host {
    char name[128] = {};
    int32_t cpus = 0, threads = 0;
  };
  Host mine;
  std::snprintf(mine.name, sizeof mine.name, "%s", comm.processor_name().c_str());
  mine.cpus = available_cpus();
  mine.threads = threads;
  std::vector<Host> all(static_cast<size_t>(comm.size()));
  comm.allgather(&mine, sizeof mine, all.data());
  std::map<std::string, int> per_node;
  nlohmann::json hosts = nlohmann::json::array();
  for (size_t r = 0; r < all.size(); ++r) {
    ++per_node[all[r].name];
    hosts.push_back({{"rank", r}, {"host", all[r].name}, {"cpus", all[r].cpus}, {"threads", all[r].threads}});
  }
  int most = 0;
  for (const auto& [name, n] : per_node) most = std::max(most, n);
  // Rank 0's rows of a full batch (every rank's with a global batch that R divides).
  const size_t per_rank = shard_bounds(static_cast<size_t>(e.batch_size), static_cast<size_t>(e.batch_size),
                                       static_cast<size_t>(e.shards))[static_cast<size_t>(e.shards / comm.size())];
  nlohmann::json lr = {{"rule", "none"}, {"base_learning_rate", e.optimizer.learning_rate},
                       {"warmup_epochs", 0}, {"warmup_steps", 0}};
  if (run.contains("lr_scaling")) {
    const nlohmann::json& l = run["lr_scaling"];
    lr = {{"rule", l.at("rule")}, {"base_batch_size", l.at("base_batch_size")},
          {"base_learning_rate", l.value("base_learning_rate", e.optimizer.learning_rate)}, {"warmup_epochs", l.value("warmup_epochs", 0)},
          {"warmup_steps", l.value("warmup_steps", uint64_t{0})}};
  }
  return {{"ranks", comm.size()},
          {"nodes", per_node.size()},
          {"ranks_per_node", most},
          {"threads_per_rank", threads},
          {"global_batch", e.batch_size},
          {"batch_per_rank", per_rank},
          {"scaling", batch_size_per_rank > 0 ? "weak" : "strong"},
          {"shards", e.shards},
          {"shards_per_rank", e.shards / comm.size()},
          {"reduction", reduction_name(reduction)},
          {"mpi_library", comm.library_version()},
          {"learning_rate", e.optimizer.learning_rate},
          {"lr_scaling", lr},
          {"rank_hosts", hosts},
          {"epochs", nlohmann::json::array()}};
}

nlohmann::json rank_stats_json(int epoch, const std::vector<RankEpochStats>& stats) {
  auto phase = [](const PhaseStats& p) { return nlohmann::json{{"median_us", p.median_us}, {"p90_us", p.p90_us}}; };
  nlohmann::json ranks = nlohmann::json::array();
  for (size_t r = 0; r < stats.size(); ++r) {
    const RankEpochStats& s = stats[r];
    ranks.push_back({{"rank", r},
                     {"compute", phase(s.compute)},
                     {"reduction", phase(s.reduction)},
                     {"optimizer", phase(s.optimizer)},
                     {"allgather", phase(s.allgather)},
                     {"wait", phase(s.wait)},
                     {"bytes_sent", s.bytes_sent}});
  }
  return {{"epoch", epoch}, {"ranks", ranks}};
}

// The exit status of an error (docs/cli.md): a bad command line or experiment 2, a bad dataset 3,
// anything else 1.
int exit_status_of(const std::exception& e) {
  if (dynamic_cast<const ConfigError*>(&e)) return kExitUsage;
  if (dynamic_cast<const DataError*>(&e)) return kExitData;
  return kExitOther;
}

// A run that fails after its log was created ends the log "failed" with the error (on the rank
// that writes it). Distributed: the error is reported here and the whole job is ended, since
// the other ranks would wait for this one in their next collective forever.
void end_failed(std::optional<RunLog>& log, const std::exception& ex, const std::vector<EpochResult>& epochs,
                double wall_seconds, Comm* comm) {
  if (log) {
    try {
      log->set_error(ex.what());
      log->write("failed", epochs, wall_seconds);
    } catch (const std::exception&) {
      // The log cannot be written either: the message on stderr is all there is.
    }
  }
  if (comm && comm->size() > 1) {
    std::fprintf(stderr, "error (rank %d of %d): %s\n", comm->rank(), comm->size(), ex.what());
    std::fflush(stderr);
    comm->abort(exit_status_of(ex));
  }
}

// Everything one training run needs besides the experiment and the data.
struct RunSetup {
  int threads = 1;
  std::string log_path;
  bool log_is_default = false;  // a generated name: another is tried if it is taken
  bool create_log = true;       // exclusive creation (false: --force or this run's own log)
  std::string checkpoint_path;  // where interrupts and --checkpoint-every write
  bool checkpoint_is_default = false;  // derived from the log path (follows it)
  bool create_checkpoint = true;
  const Checkpoint* resume = nullptr;
  nlohmann::json run_info;      // carried in checkpoints
  bool summary = true;          // print the model summary (a sweep prints it once)
  // The experiment's reference figure applies: epochs and batch size as in its file, all data.
  bool reference_applies = false;
  std::vector<EpochResult>* history = nullptr;  // receives the epochs when the run completes
  int sweep_batch_size = 0;     // a batch-size sweep's batch size (0: not one)
  Comm* comm = nullptr;         // distributed: this process's job (rank 0 writes the files)
  Reduction reduction = Reduction::kTree;
  nlohmann::json data_digests;  // of the samples used (run_identity.h)
  RunLocks* locks = nullptr;    // the writer holds its log's and checkpoint's locks here
};

// results/runs/<name>/<UTC stamp>-s<seed>-t<threads>-p<pid>.json, and -2, -3, ... on
// collision: unique for a loop over seeds, parallel runs and runs in the same second.
std::string default_log_path(const Experiment& e, int threads, int attempt) {
  std::string name = utc_stamp_compact() + "-s" + std::to_string(e.seed) + "-t" + std::to_string(threads) +
                     "-p" + std::to_string(::getpid());
  if (attempt > 1) name += "-" + std::to_string(attempt);
  return repo_root() + "/results/runs/" + e.name + "/" + name + ".json";
}

int train_one(const Experiment& e, const Dataset& train, const Dataset& test,
              const Dataset* validation, RunSetup& setup, const RunOptions& o) {
  const auto wall0 = std::chrono::steady_clock::now();
  auto wall = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count(); };
  const bool writer = !setup.comm || setup.comm->rank() == 0;  // the rank that writes files
  const bool quiet = o.quiet || !writer;

  // What a checkpoint of this run records, and what a resumed run must match.
  const nlohmann::json identity = run_identity(setup.data_digests, setup.comm ? reduction_name(setup.reduction) : "tree",
                                               setup.comm ? setup.comm->size() : 1);
  if (setup.resume) check_resumed_identity(*setup.resume, identity, train, test);

  Trainer trainer(e, train, test, setup.threads, validation);
  const int granted = trainer.granted_threads();
  nlohmann::json run = {{"threads", granted},
                        {"threads_requested", setup.threads},
                        {"simd_target", kernels::active_target()},
                        {"flush_denormals", can_flush_denormals()},
                        {"seed", e.seed},
                        {"started_utc", utc_timestamp()},
                        {"train_samples", train.size()},
                        {"test_samples", test.size()}};
  if (validation) run["validation_samples"] = validation->size();
  if (setup.run_info.contains("lr_scaling")) {
    run["lr_scaling"] = setup.run_info["lr_scaling"];
    run["lr_scaling"]["learning_rate"] = e.optimizer.learning_rate;
    const int warmup = setup.run_info["lr_scaling"].value("warmup_epochs", 0);
    if (warmup > 0) {  // from the unscaled rate (1/factor of the scaled one) to the scaled one
      const nlohmann::json& l = setup.run_info["lr_scaling"];
      const double factor = lr_factor(l.at("rule").get<std::string>(), e.batch_size, l.at("base_batch_size").get<int>());
      const uint64_t steps = static_cast<uint64_t>(warmup) * trainer.steps_per_epoch();
      trainer.optimizer().set_warmup(steps, 1.0 / factor);
      run["lr_scaling"]["warmup_steps"] = steps;
    }
  }
  nlohmann::json run_info = setup.run_info;
  run_info["identity"] = identity;
  if (setup.resume) {
    restore_checkpoint(*setup.resume, trainer);
    if (setup.resume->run_info.contains("started_utc")) {
      run["started_utc"] = setup.resume->run_info["started_utc"];
    }
    run["resumed_from"] = setup.resume->path;
  }
  run["run_id"] = run_info["run_id"];
  if (setup.comm) {
    trainer.distribute(setup.comm, setup.reduction);
    trainer.stop_signal = [] { return static_cast<int>(g_signal); };
    check_agreement(*setup.comm, e, trainer, train, test);
  }
  const nlohmann::json distributed =
      setup.comm ? distributed_json(*setup.comm, e, setup.threads, setup.reduction, run,
                                     setup.run_info.value("batch_size_per_rank", 0)) : nlohmann::json();

  // One writer for the run's log and checkpoint as long as it runs (a resumed run holds them
  // already). A generated log name is locked once created: a name taken meanwhile is no error.
  auto hold_locks = [&] {
    if (!writer || !setup.locks) return;
    setup.locks->hold(setup.log_path, "--out");
    setup.locks->hold(setup.checkpoint_path, "--checkpoint");
  };
  if (!setup.log_is_default) hold_locks();
  // The log's first version is created exclusively: of two runs given one path, one stops here.
  // Distributed: rank 0 alone has a log.
  std::optional<RunLog> log;
  for (int attempt = 1; writer; ++attempt) {
    log.emplace(setup.log_path, e.to_json(), run, setup.create_log);
    if (setup.comm) log->set_distributed(distributed);
    log->set_events(trainer.state().events);
    try {
      log->write("running", trainer.state().history, wall());
      break;
    } catch (const OutputExists& ex) {
      if (!setup.log_is_default || attempt >= 100) {
        throw ConfigError(std::string(ex.what()) + "; pass --force to replace it");
      }
      // Another run took this name since the check: the next free one, with its checkpoint.
      setup.log_path = default_log_path(e, setup.threads, attempt + 1);
      if (setup.checkpoint_is_default) setup.checkpoint_path = replace_extension(setup.log_path, ".ckpt");
    }
  }
  if (setup.log_is_default) hold_locks();  // a name of its own, now that it is created
  // Absolute, so that resuming from another folder continues the same log.
  run_info["log"] = fs::absolute(setup.log_path).lexically_normal().string();
  run_info["started_utc"] = run["started_utc"];

  // Whatever fails from here on (a checkpoint or weights file that cannot be written, memory, ...)
  // ends the log "failed" with the error instead of leaving it "running" (docs/run-log.md).
  try {
    if (!quiet) {
      if (setup.summary) {
        std::fprintf(stderr, "%s",
                     model_summary(e.name, trainer.model().inputs(), e.model).c_str());
      }
      if (setup.comm) {
        std::fprintf(stderr, "Distributed: %d ranks, %d shards, reduction %s\n", setup.comm->size(),
                     e.shards, reduction_name(setup.reduction));
      }
      std::fprintf(stderr, "Training on %zu samples, testing on %zu (%s), %d thread%s, SIMD %s, batch %d\n",
                   train.size(), test.size(), e.dataset.c_str(), granted, granted == 1 ? "" : "s",
                   kernels::active_target().c_str(), e.batch_size);
      if (validation) {
        std::fprintf(stderr, "Validating on the last %zu training samples (validation_split %g)\n",
                     validation->size(), e.validation_split);
      }
      if (granted < setup.threads) {
        std::fprintf(stderr, "note: %d threads were asked for, OpenMP granted %d (OMP_THREAD_LIMIT, "
                     "OMP_DYNAMIC?)\n", setup.threads, granted);
      }
      if (setup.resume) {
        std::fprintf(stderr, "Resuming from %s at epoch %d, step %zu\n", setup.resume->path.c_str(),
                     trainer.state().epoch + 1, trainer.state().step);
      }
    }

    // Checkpoints: the first one this run writes is created exclusively, later ones replace it.
    // Collective in a distributed run: every rank completes its optimizer state, rank 0 saves.
    bool create_checkpoint = setup.create_checkpoint;
    auto checkpoint = [&] {
      trainer.gather_optimizer_state();
      if (!writer) return;
      save_checkpoint(setup.checkpoint_path, e, trainer, run_info, create_checkpoint);
      create_checkpoint = false;
    };
    auto sync_threads = [&] {
      if (log) log->set_granted_threads(trainer.granted_threads());
    };

    Progress progress(stderr, quiet, e.epochs,
                      e.optimizer.schedule.has_value() || e.callbacks.reduce_lr_on_plateau.has_value());
    TrainCallbacks callbacks;
    const FaultSignal fault = fault_signal_from_env();
    callbacks.on_step = [&](int epoch, size_t step, size_t steps, double loss, double acc) {
      progress.on_step(epoch, step, steps, loss, acc);
      if (fault.signal && static_cast<uint64_t>(epoch - 1) * steps + step == fault.at_step) {
        std::raise(fault.signal);
      }
    };
    const nlohmann::json experiment_json = e.to_json();
    bool target_settled = false;  // reached (this run or the part it resumes), and said so
    callbacks.on_epoch_end = [&](const EpochResult& r) {
      progress.on_epoch_end(r);
      for (const auto& ev : trainer.state().events) {
        if (ev.epoch == r.epoch && !quiet) std::fprintf(stderr, "%s: %s\n", ev.callback.c_str(), ev.reason.c_str());
      }
      // The epoch that first reaches the target says so; the summary (a pass over every epoch)
      // only once the metric is there.
      const double metric = e.target_metric == "val_accuracy" ? r.val_accuracy : r.test_accuracy;
      if (!quiet && e.target_accuracy && !target_settled && metric >= *e.target_accuracy) {
        target_settled = true;
        const nlohmann::json s = summary_json(trainer.state().history, 0, experiment_json);
        if (s["epochs_to_target"] == r.epoch) std::fprintf(stderr, "%s\n", target_report(s).c_str());
      }
      const bool checkpoint_due = o.checkpoint_every > 0 && r.epoch % o.checkpoint_every == 0 && r.epoch < e.epochs;
      if (checkpoint_due) checkpoint();  // collective: before rank 0 alone goes on
      if (!log) return;
      if (setup.comm) log->add_rank_stats(rank_stats_json(r.epoch, trainer.rank_stats()));
      log->set_events(trainer.state().events);
      sync_threads();
      if (checkpoint_due) {
        log->write("running", trainer.state().history, wall());  // the log is never behind a checkpoint
      } else {
        log->write_running(trainer.state().history, wall());
      }
    };
    callbacks.stop_requested = [] { return g_signal != 0; };

    const StopReason stop = trainer.run(callbacks);
    sync_threads();
    if (log) log->set_events(trainer.state().events);
    // Distributed: the signal some rank saw (every rank stops after the same step).
    const int sig = setup.comm ? trainer.agreed_signal() : static_cast<int>(g_signal);
    switch (stop) {
      case StopReason::kCompleted: {
        if (!writer) return kExitOk;
        const Evaluation& final_test = *trainer.final_test();
        const auto& events = trainer.state().events;
        if (!o.quiet && !events.empty() && events.back().action == "restore_best_weights") {
          std::fprintf(stderr, "early_stopping: %s\n", events.back().reason.c_str());
        }
        log->set_evaluation(final_test);
        if (!o.save_weights.empty()) {
          save_weights(o.save_weights, trainer.model(),
                       {{"experiment", e.name},
                        {"final_test_accuracy", nlohmann::json(final_test.accuracy).dump()},
                        {"final_test_loss", nlohmann::json(final_test.loss).dump()},
                        {"format", "mlpbench dense layers, Keras layout: kernel [in, out], bias [out]"}},
                       /*replace=*/o.force);
          if (!o.quiet) std::fprintf(stderr, "Weights written to %s\n", o.save_weights.c_str());
        }
        log->write("completed", trainer.state().history, wall());  // only once the weights exist
        if (!o.quiet) {
          std::fprintf(stderr, "Final test accuracy %.2f%%", 100 * final_test.accuracy);
          if (e.reference && setup.reference_applies) {
            std::fprintf(stderr, " (reference %.2f%%: %s)", 100 * e.reference->test_accuracy,
                         e.reference->source.c_str());
          }
          std::fprintf(stderr, "\n");
          const std::string target = target_report(log->json().at("summary"));
          if (!target.empty()) std::fprintf(stderr, "%s\n", target.c_str());
        }
        if (setup.history) *setup.history = trainer.state().history;
        if (log->json().at("run").value("host_noisy", false)) {
          std::string why;
          for (const auto& r : log->json().at("run").at("host_noise_reasons")) {
            why += (why.empty() ? "" : "; ") + r.get<std::string>();
          }
          std::fprintf(stderr, "warning: the host was noisy during this run (%s): its timings may be "
                       "the host's, not the engine's (run.host_noisy in the log)\n", why.c_str());
        }
        std::printf("%s\n", setup.log_path.c_str());
        std::fflush(stdout);  // before MPI_Finalize, whose helpers must not inherit the buffer
        return kExitOk;
      }
      case StopReason::kDiverged: {
        if (!writer) return kExitDiverged;
        log->write("diverged", trainer.state().history, wall());
        const auto [epoch, step] = trainer.diverged_at();
        std::fprintf(stderr,
                     "\n%s: training diverged at epoch %d, step %zu: the loss or the weights are "
                     "NaN or infinite (is the learning rate %g too high?)\nlog: %s\n",
                     e.name.c_str(), epoch, step, e.optimizer.learning_rate, setup.log_path.c_str());
        return kExitDiverged;
      }
      case StopReason::kInterrupted: {
        // The run ends "interrupted" whatever happens to the checkpoint: a location that became
        // unwritable is reported, not turned into a crash or a "running" log.
        std::string checkpoint_error;
        try {
          checkpoint();
        } catch (const std::exception& ex) {
          checkpoint_error = ex.what();
        }
        if (setup.comm) {  // every rank says where it stopped: the same step on all
          std::fprintf(stderr, "rank %d of %d: stopped by %s at epoch %d, step %zu\n", setup.comm->rank(),
                       setup.comm->size(), signal_name(sig), trainer.state().epoch + 1, trainer.state().step);
        }
        if (!writer) return 128 + sig;
        log->write("interrupted", trainer.state().history, wall());
        std::fprintf(stderr, "\ninterrupted by %s at epoch %d, step %zu\n", signal_name(sig),
                     trainer.state().epoch + 1, trainer.state().step);
        if (checkpoint_error.empty()) {
          std::fprintf(stderr, "checkpoint: %s\nlog: %s\ncontinue with: run_experiment --resume %s\n",
                       setup.checkpoint_path.c_str(), setup.log_path.c_str(),
                       setup.checkpoint_path.c_str());
        } else {
          std::fprintf(stderr, "checkpoint NOT written (the run cannot be resumed): %s\nlog: %s\n",
                       checkpoint_error.c_str(), setup.log_path.c_str());
        }
        std::printf("%s\n", setup.log_path.c_str());
        std::fflush(stdout);
        return 128 + sig;  // 130 SIGINT, 143 SIGTERM, 129 SIGHUP
      }
    }
  } catch (const std::exception& ex) {
    end_failed(log, ex, trainer.state().history, wall(), setup.comm);
    throw;
  }
  return kExitOther;
}

void select_target_or_throw(const std::string& name, const char* option = "--simd-target") {
  if (!kernels::select_simd_target(name)) {
    throw ConfigError(std::string(option) + ": no compiled and supported target named \"" + name +
                      "\" (available: " + join(kernels::supported_targets()) + ")");
  }
}

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

// A random id that ties a run's log and checkpoints together (a resumed run continues only the
// log its checkpoint names and that carries the same id).
std::string new_run_id() {
  std::random_device rd;
  char buf[33];
  std::snprintf(buf, sizeof buf, "%08x%08x%08x%08x", rd(), rd(), rd(), rd());
  return buf;
}

// What a resumed run may do with the log its checkpoint names.
enum class ResumedLog { kAbsent, kOurs, kCompleted, kForeign };
ResumedLog inspect_resumed_log(const std::string& path, const nlohmann::json& run_info) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return ResumedLog::kAbsent;
  if (!S_ISREG(st.st_mode)) return ResumedLog::kForeign;
  try {
    const nlohmann::json j = JsonChecker{path}.parse(read_input_file(path, uint64_t{1} << 32, "a run log"), 64, "a run log");
    if (!run_info.contains("run_id") || j.at("run").value("run_id", std::string()) != run_info["run_id"]) {
      return ResumedLog::kForeign;
    }
    return j.at("status") == "completed" ? ResumedLog::kCompleted : ResumedLog::kOurs;
  } catch (const std::exception&) {
    return ResumedLog::kForeign;
  }
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

int run_checked(const RunOptions& o) {
  std::optional<Checkpoint> checkpoint;
  Experiment e;
  std::string source = o.experiment_path;
  if (!o.resume.empty()) {
    checkpoint = read_checkpoint(o.resume);
    check_resumed_options(*checkpoint, o);  // before the checkpoint's experiment takes overrides
    e = checkpoint->experiment;
    source = o.resume;
  } else {
    e = load_experiment(o.experiment_path);
  }
  const Experiment as_written = e;
  // Which options combine with which is the option table's (option_table.h), checked with the
  // command line; what is left here is about values.
  if (o.warmup_epochs > 0 && o.lr_scaling == "none") {
    throw ConfigError("--warmup-epochs: needs --lr-scaling linear or sqrt (the warmup ramps from the "
                      "experiment's rate to the scaled one; with none the rate is not scaled)");
  }
  if (o.epochs) e.epochs = *o.epochs;
  if (o.batch_size) e.batch_size = *o.batch_size;
  // A resumed run's rate was scaled when it started; the checkpoint holds the result.
  if (!checkpoint) scale_learning_rate(e.optimizer, lr_factor(o.lr_scaling, e.batch_size, as_written.batch_size));
  if (o.seed) e.seed = *o.seed;
  if (o.threads) e.threads = *o.threads;
  if (o.shards) e.shards = *o.shards;
  validate_experiment(e, source);
  if (o.checkpoint_every < 0) throw ConfigError("--checkpoint-every: expected a positive number");
  if (o.warmup_epochs > e.epochs) {
    throw ConfigError("--warmup-epochs: " + std::to_string(o.warmup_epochs) + " epochs of warmup in a run of " +
                      std::to_string(e.epochs) + "; give at most the run's epochs");
  }
  if (o.dry_run) {
    std::fprintf(stderr, "%s", model_summary(e.name, kExperimentInputs, e.model).c_str());
    std::printf("%s\n", e.to_json().dump(2).c_str());
    return kExitOk;
  }
  for (size_t i = 0; i < o.sweep_threads.size(); ++i) {
    const int t = o.sweep_threads[i];
    if (t < 1 || t > 1024) throw ConfigError("--sweep-threads: expected counts from 1 to 1024, got " + std::to_string(t));
    if (std::find(o.sweep_threads.begin(), o.sweep_threads.begin() + i, t) != o.sweep_threads.begin() + i) {
      throw ConfigError("--sweep-threads: " + std::to_string(t) + " is given twice (each count is one run and one log)");
    }
  }
  const bool all_targets = o.sweep_simd.size() == 1 && o.sweep_simd.front() == "all";
  for (size_t i = 0; i < o.sweep_simd.size() && !all_targets; ++i) {
    select_target_or_throw(o.sweep_simd[i], "--sweep-simd");  // fail before any run starts
    if (std::find(o.sweep_simd.begin(), o.sweep_simd.begin() + i, o.sweep_simd[i]) != o.sweep_simd.begin() + i) {
      throw ConfigError("--sweep-simd: " + o.sweep_simd[i] + " is given twice");
    }
  }

  const nlohmann::json saved = checkpoint ? checkpoint->run_info : nlohmann::json::object();
  // Limits the command line leaves out are the checkpoint's (the same when given: check_resumed_options).
  const size_t train_limit = o.train_limit.value_or(saved.value("train_limit", size_t{0}));
  const size_t test_limit = o.test_limit.value_or(saved.value("test_limit", size_t{0}));
  std::string simd = o.simd_target;
  if (checkpoint) {  // the target the run computed with, wherever it is resumed
    simd = saved["identity"]["simd_target"].get<std::string>();
    if (!kernels::select_simd_target(simd)) {
      throw ConfigError("--resume: the checkpoint's run used the SIMD target " + simd + ", which this machine "
                        "does not run (available: " + join(kernels::supported_targets()) + ")");
    }
  }
  if (!simd.empty()) select_target_or_throw(simd);

  std::unique_ptr<Comm> comm;
  Reduction reduction = Reduction::kTree;
  if (o.distributed) {
    const std::string rule = !o.reduction.empty() ? o.reduction
                             : checkpoint         ? saved["identity"]["reduction"].get<std::string>()
                                                  : "tree";
    reduction = rule == "mpi" ? Reduction::kMpi : Reduction::kTree;
    comm = init_mpi();
    const std::string why = check_rank_count(comm->size(), e.shards);
    if (!why.empty()) throw ConfigError("--distributed: " + why);
    if (o.batch_size_per_rank) {  // weak scaling: the global batch and its rate follow R
      const int64_t global = int64_t{*o.batch_size_per_rank} * comm->size();
      const std::string what = "--batch-size-per-rank: " + std::to_string(*o.batch_size_per_rank) + " rows x " +
                               std::to_string(comm->size()) + " ranks = a global batch of " + std::to_string(global);
      if (global > 65536) throw ConfigError(what + ", above the largest batch size 65536");
      if (global < e.shards) throw ConfigError(what + ", fewer rows than the " + std::to_string(e.shards) + " shards");
      e.batch_size = static_cast<int>(global);
      e.optimizer = as_written.optimizer;
      scale_learning_rate(e.optimizer, lr_factor(o.lr_scaling, e.batch_size, as_written.batch_size));
      validate_experiment(e, source);
    }
  }

  // A resumed run is the only writer of its checkpoint and log from here on; a second process
  // resuming them meanwhile is refused (run_lock.h). What was read before the lock is read again.
  RunLocks locks;
  if (checkpoint && (!comm || comm->rank() == 0)) {
    try {
      locks.hold(o.resume, "--resume");
      if (o.out.empty()) locks.hold(saved["log"].get<std::string>(), "--resume");
      const Checkpoint now = read_checkpoint(o.resume);
      if (now.state_json != checkpoint->state_json || now.run_info != checkpoint->run_info) {
        throw ConfigError("--resume: " + o.resume + ": replaced by another process while this run started; "
                          "run the command again");
      }
    } catch (const std::exception& ex) {
      std::optional<RunLog> no_log;
      end_failed(no_log, ex, {}, 0, comm.get());  // ends the job: the other ranks would wait for rank 0
      throw;
    }
  }
  // A resumed run whose log already says "completed" has nothing left to do.
  if (checkpoint && o.out.empty() && saved.contains("log") &&
      inspect_resumed_log(saved["log"].get<std::string>(), saved) == ResumedLog::kCompleted) {
    std::fprintf(stderr, "%s: this run already completed (log: %s); nothing to train\n",
                 o.resume.c_str(), saved["log"].get<std::string>().c_str());
    return kExitOk;
  }

  const std::string data_dir = data_dir_for(o);
  Dataset train = load_dataset(data_dir, e.dataset, "train", train_limit);
  const Dataset test = load_dataset(data_dir, e.dataset, "test", test_limit);
  check_same_shape(train, test);
  const nlohmann::json digests = data_digests(train, test);  // the samples used, before any split
  if (static_cast<size_t>(e.model.back().units) != train.num_classes) {
    throw ConfigError(source + ": /model/" + std::to_string(e.model.size() - 1) +
                      "/units: the output layer must have " + std::to_string(train.num_classes) +
                      " units");
  }
  std::optional<Dataset> validation;
  if (e.validation_split > 0) {
    // Keras: the first floor(n * (1 - split)) samples train, the rest validate.
    const size_t n = train.size();
    const auto split_at = static_cast<size_t>(std::floor(static_cast<double>(n) * (1.0 - e.validation_split)));
    if (split_at == 0 || split_at == n) {
      throw ConfigError(source + ": /validation_split: " + std::to_string(n) +
                        " training samples cannot be split into training and validation sets "
                        "by validation_split " + nlohmann::json(e.validation_split).dump());
    }
    validation = split_off_tail(train, split_at);
  }
  const Dataset* val = validation ? &*validation : nullptr;
  if (checkpoint) {
    check_resumable(*checkpoint, train.size());
    const TrainState& s = checkpoint->state;
    if (e.epochs < s.epoch || (e.epochs == s.epoch && s.step > 0)) {
      throw ConfigError("--epochs: " + std::to_string(e.epochs) + " is below the checkpoint's progress (" +
                        std::to_string(s.epoch) + " epochs and " + std::to_string(s.step) +
                        " steps done); give at least " + std::to_string(s.epoch + (s.step > 0)));
    }
    if (s.stop_training) {
      std::fprintf(stderr, "%s: this run already completed (stopped early by early_stopping); "
                   "nothing to train\n", o.resume.c_str());
      return kExitOk;
    }
    if (s.epoch == e.epochs) {
      std::fprintf(stderr, "%s: this run already completed its %d epochs; nothing to train "
                   "(pass --epochs N with a larger N to train further)\n",
                   o.resume.c_str(), e.epochs);
      return kExitOk;
    }
  }
  check_memory(e, train, test);

  const int default_threads = e.threads > 0 ? e.threads : available_cpus();
  int most_threads = default_threads;
  for (int t : o.sweep_threads) most_threads = std::max(most_threads, t);
  if (most_threads > available_cpus()) {
    std::fprintf(stderr, "warning: %d threads on %d logical CPUs: the threads will take turns (the "
                 "team's barrier sleeps instead of spinning), so timings will not show the "
                 "hardware's speed\n", most_threads, available_cpus());
  }

  // Every file the run reads, so that no output can replace one of them.
  std::vector<std::string> inputs = {train.images_path, test.images_path, train.labels_path,
                                     test.labels_path};
  if (!o.experiment_path.empty()) inputs.push_back(o.experiment_path);

  nlohmann::json run_info = {{"train_limit", train_limit}, {"test_limit", test_limit}};
  if (o.lr_scaling != "none" || !o.sweep_batch_size.empty()) {
    run_info["lr_scaling"] = {{"rule", o.lr_scaling}, {"base_batch_size", as_written.batch_size},
                              {"base_learning_rate", as_written.optimizer.learning_rate}};
    if (o.warmup_epochs > 0) run_info["lr_scaling"]["warmup_epochs"] = o.warmup_epochs;
  }
  if (o.batch_size_per_rank) run_info["batch_size_per_rank"] = *o.batch_size_per_rank;
  // A resumed run keeps its rule and warmup (the checkpoint's rate is already scaled).
  for (const char* key : {"lr_scaling", "batch_size_per_rank"}) {
    if (checkpoint && saved.contains(key)) run_info[key] = saved[key];
  }
  // A resumed run keeps what its first part decided.
  run_info["reference_applies"] =
      checkpoint ? saved.value("reference_applies", false)
                 : e.epochs == as_written.epochs && e.batch_size == as_written.batch_size &&
                       train_limit == 0 && test_limit == 0;
  run_info["run_id"] = checkpoint && saved.contains("run_id") ? saved["run_id"] : nlohmann::json(new_run_id());

  if (o.sweep_threads.empty() && o.sweep_simd.empty() && o.sweep_batch_size.empty()) {
    RunSetup setup;
    setup.threads = default_threads;
    setup.resume = checkpoint ? &*checkpoint : nullptr;
    std::vector<PlannedOutput> outputs;
    if (!o.out.empty()) {
      setup.log_path = o.out;
      setup.create_log = !o.force;
    } else if (checkpoint && saved.contains("log")) {
      setup.log_path = saved["log"].get<std::string>();
      const ResumedLog state = inspect_resumed_log(setup.log_path, saved);
      if (state == ResumedLog::kForeign && !o.force) {
        throw ConfigError("--resume: " + setup.log_path + ": the log this checkpoint continues exists but "
                          "belongs to another run; pass --out NEW_LOG (or --force to replace it)");
      }
      setup.create_log = state == ResumedLog::kAbsent;
    } else {
      setup.log_path = default_log_path(e, setup.threads, 1);
      setup.log_is_default = true;
    }
    // A generated name that is taken is not an error: the exclusive creation picks the next.
    outputs.push_back({setup.log_path, "--out", !setup.create_log || setup.log_is_default});
    if (!o.checkpoint.empty()) {
      setup.checkpoint_path = o.checkpoint;
    } else if (checkpoint) {
      setup.checkpoint_path = checkpoint->path;  // the file resumed from is this run's own
    }
    if (setup.checkpoint_path.empty()) {
      setup.checkpoint_path = replace_extension(setup.log_path, ".ckpt");
      setup.checkpoint_is_default = true;
    }
    {
      const bool own = checkpoint && same_file(setup.checkpoint_path, checkpoint->path);
      setup.create_checkpoint = !(o.force || own);
      outputs.push_back({setup.checkpoint_path, "--checkpoint", !setup.create_checkpoint});
      if (checkpoint && !own) inputs.push_back(checkpoint->path);
    }
    if (!o.save_weights.empty()) outputs.push_back({o.save_weights, "--save-weights", o.force});
    check_outputs(outputs, inputs);
    install_signal_handlers();
    run_info["simd_target"] = simd;
    setup.run_info = run_info;
    setup.reference_applies = run_info["reference_applies"].get<bool>();
    setup.comm = comm.get();
    setup.reduction = reduction;
    setup.data_digests = digests;
    setup.locks = &locks;
    return train_one(e, train, test, val, setup, o);
  }

  const std::string folder = !o.out.empty() ? o.out
                             : repo_root() + "/results/runs/" + e.name + "/sweep-" + utc_stamp_compact() +
                                   "-s" + std::to_string(e.seed) + "-p" + std::to_string(::getpid());
  struct stat st {};
  if (::stat(folder.c_str(), &st) == 0 && !S_ISDIR(st.st_mode)) {
    throw ConfigError("--out: " + folder + ": a sweep writes its logs into a folder, and this is not one");
  }
  std::vector<int> thread_counts = o.sweep_threads;
  if (thread_counts.empty()) thread_counts.push_back(default_threads);
  std::vector<std::string> targets = o.sweep_simd;
  if (all_targets) targets = kernels::supported_targets();
  if (targets.empty()) targets.push_back(simd.empty() ? kernels::active_target() : simd);
  std::vector<int> batch_sizes = o.sweep_batch_size;
  for (size_t i = 0; i < batch_sizes.size(); ++i) {
    const int b = batch_sizes[i];
    if (b < 1 || b > 65536) {
      throw ConfigError("--sweep-batch-size: expected sizes from 1 to 65536, got " + std::to_string(b));
    }
    if (std::find(batch_sizes.begin(), batch_sizes.begin() + i, b) != batch_sizes.begin() + i) {
      throw ConfigError("--sweep-batch-size: " + std::to_string(b) + " is given twice (each size is one run and one log)");
    }
  }
  const bool batch_sweep = !batch_sizes.empty();
  if (!batch_sweep) batch_sizes.push_back(e.batch_size);
  std::vector<RunSetup> setups;
  std::vector<PlannedOutput> outputs;
  for (int batch : batch_sizes) {
  for (const std::string& target : targets) {
    select_target_or_throw(target, o.sweep_simd.empty() ? "--simd-target" : "--sweep-simd");
    for (int threads : thread_counts) {
      RunSetup setup;
      setup.threads = threads;
      setup.sweep_batch_size = batch_sweep ? batch : 0;
      setup.log_path = folder + "/" + e.name + (batch_sweep ? "-b" + std::to_string(batch) : "") +
                       "-t" + std::to_string(threads) + "-" + kernels::active_target() + ".json";
      setup.create_log = !o.force;
      setup.checkpoint_path = replace_extension(setup.log_path, ".ckpt");
      setup.create_checkpoint = !o.force;
      outputs.push_back({setup.log_path, "sweep log", o.force});
      outputs.push_back({setup.checkpoint_path, "sweep checkpoint", o.force});
      run_info["simd_target"] = target;
      run_info["run_id"] = new_run_id();
      setup.run_info = run_info;
      setup.summary = setups.empty();
      setup.data_digests = digests;
      setup.locks = &locks;
      setup.reference_applies = run_info["reference_applies"].get<bool>() &&
                                (!batch_sweep || batch == as_written.batch_size);
      setups.push_back(setup);
    }
  }
  }
  check_outputs(outputs, inputs);  // every run's files, before the first run starts
  install_signal_handlers();
  std::vector<SweepRow> rows;
  std::vector<EpochResult> first, history;
  for (RunSetup& setup : setups) {
    select_target_or_throw(setup.run_info["simd_target"].get<std::string>(), "--sweep-simd");
    setup.history = &history;
    Experiment run_e = e;
    if (batch_sweep) {  // this batch size, its rate scaled from the file's
      run_e.batch_size = setup.sweep_batch_size;
      run_e.optimizer = as_written.optimizer;
      scale_learning_rate(run_e.optimizer,
                          lr_factor(o.lr_scaling, run_e.batch_size, as_written.batch_size));
      // Bitwise identity is asked of runs of one batch size.
      if (!rows.empty() && rows.back().batch_size != run_e.batch_size) first.clear();
    }
    const int status = train_one(run_e, train, test, val, setup, o);
    if (status != kExitOk) return status;
    if (first.empty()) first = history;
    rows.push_back({setup.threads, kernels::active_target(),
                    summary_json(history, 0)["median_epoch_seconds"].get<double>(),
                    same_numbers(first, history), setup.sweep_batch_size});
  }
  if (!o.quiet) {
    std::fprintf(stderr, "\nSweep of %zu runs in %s\n%splot it with: tools/%s %s\n", rows.size(),
                 folder.c_str(), sweep_table(rows).c_str(),
                 batch_sweep ? "plot_batch.py" : "plot_scaling.py", folder.c_str());
  }
  return kExitOk;
}

}  // namespace

std::string repo_root() {
  std::error_code ec;
  if (fs::exists(fs::path(MLPBENCH_SOURCE_ROOT) / "experiments", ec)) return MLPBENCH_SOURCE_ROOT;
  return fs::current_path(ec).string();
}

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
