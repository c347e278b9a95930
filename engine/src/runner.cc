#include "mlpbench/runner.h"

#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <sstream>

#include "mlpbench/build_config.h"
#include "mlpbench/build_info.h"
#include "mlpbench/checkpoint.h"
#include "mlpbench/dataset.h"
#include "mlpbench/errors.h"
#include "mlpbench/experiment.h"
#include "mlpbench/float_mode.h"
#include "mlpbench/kernels.h"
#include "mlpbench/parallel.h"
#include "mlpbench/progress.h"
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

// Everything one training run needs besides the experiment and the data.
struct RunSetup {
  int threads = 1;
  std::string log_path;
  std::string checkpoint_path;  // where interrupts and --checkpoint-every write
  bool overwrite = false;
  const Checkpoint* resume = nullptr;
  nlohmann::json run_info;      // carried in checkpoints
  bool summary = true;          // print the model summary (a sweep prints it once)
  // The experiment's reference figure applies: epochs and batch size as in its file, all data.
  bool reference_applies = false;
  std::vector<EpochResult>* history = nullptr;  // receives the epochs when the run completes
};

int train_one(const Experiment& e, const Dataset& train, const Dataset& test,
              const Dataset* validation, const RunSetup& setup, const RunOptions& o) {
  const auto wall0 = std::chrono::steady_clock::now();
  auto wall = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count(); };
  if (!setup.overwrite && fs::exists(setup.log_path)) {
    throw ConfigError(setup.log_path + ": a log exists there already (pass --force to overwrite it)");
  }

  Trainer trainer(e, train, test, setup.threads, validation);
  nlohmann::json run = {{"threads", setup.threads},
                        {"simd_target", kernels::active_target()},
                        {"flush_denormals", can_flush_denormals()},
                        {"seed", e.seed},
                        {"started_utc", utc_timestamp()},
                        {"train_samples", train.size()},
                        {"test_samples", test.size()}};
  if (validation) run["validation_samples"] = validation->size();
  if (setup.resume) {
    restore_checkpoint(*setup.resume, trainer);
    if (setup.resume->run_info.contains("started_utc")) {
      run["started_utc"] = setup.resume->run_info["started_utc"];
    }
    run["resumed_from"] = setup.resume->path;
  }
  RunLog log(setup.log_path, e.to_json(), run);
  nlohmann::json run_info = setup.run_info;
  run_info["log"] = setup.log_path;
  run_info["started_utc"] = run["started_utc"];

  if (!o.quiet) {
    if (setup.summary) {
      std::fprintf(stderr, "%s",
                   model_summary(e.name, trainer.model().inputs(), e.model).c_str());
    }
    std::fprintf(stderr, "Training on %zu samples, testing on %zu (%s), %d thread%s, SIMD %s, batch %d\n",
                 train.size(), test.size(), e.dataset.c_str(), setup.threads,
                 setup.threads == 1 ? "" : "s", kernels::active_target().c_str(), e.batch_size);
    if (validation) {
      std::fprintf(stderr, "Validating on the last %zu training samples (validation_split %g)\n",
                   validation->size(), e.validation_split);
    }
    if (setup.resume) {
      std::fprintf(stderr, "Resuming from %s at epoch %d, step %zu\n", setup.resume->path.c_str(),
                   trainer.state().epoch + 1, trainer.state().step);
    }
  }
  log.set_events(trainer.state().events);
  log.write("running", trainer.state().history, wall());

  Progress progress(stderr, o.quiet, e.epochs,
                    e.optimizer.schedule.has_value() || e.callbacks.reduce_lr_on_plateau.has_value());
  TrainCallbacks callbacks;
  callbacks.on_step = [&](int epoch, size_t step, size_t steps, double loss, double acc) {
    progress.on_step(epoch, step, steps, loss, acc);
  };
  callbacks.on_epoch_end = [&](const EpochResult& r) {
    progress.on_epoch_end(r);
    for (const auto& ev : trainer.state().events) {
      if (ev.epoch == r.epoch && !o.quiet) std::fprintf(stderr, "%s: %s\n", ev.callback.c_str(), ev.reason.c_str());
    }
    log.set_events(trainer.state().events);
    log.write("running", trainer.state().history, wall());
    if (o.checkpoint_every > 0 && r.epoch % o.checkpoint_every == 0 && r.epoch < e.epochs) {
      save_checkpoint(setup.checkpoint_path, e, trainer, run_info);
    }
  };
  callbacks.stop_requested = [] { return g_signal != 0; };

  const StopReason stop = trainer.run(callbacks);
  switch (stop) {
    case StopReason::kCompleted: {
      const Evaluation& final_test = *trainer.final_test();
      const auto& events = trainer.state().events;
      if (!o.quiet && !events.empty() && events.back().action == "restore_best_weights") {
        std::fprintf(stderr, "early_stopping: %s\n", events.back().reason.c_str());
      }
      log.set_events(events);
      log.set_evaluation(final_test);
      log.write("completed", trainer.state().history, wall());
      if (!o.save_weights.empty()) {
        save_weights(o.save_weights, trainer.model(),
                     {{"experiment", e.name},
                      {"final_test_accuracy", nlohmann::json(final_test.accuracy).dump()},
                      {"final_test_loss", nlohmann::json(final_test.loss).dump()},
                      {"format", "mlpbench dense layers, Keras layout: kernel [in, out], bias [out]"}});
        if (!o.quiet) std::fprintf(stderr, "Weights written to %s\n", o.save_weights.c_str());
      }
      if (!o.quiet) {
        std::fprintf(stderr, "Final test accuracy %.2f%%", 100 * final_test.accuracy);
        if (e.reference && setup.reference_applies) {
          std::fprintf(stderr, " (reference %.2f%%: %s)", 100 * e.reference->test_accuracy,
                       e.reference->source.c_str());
        }
        std::fprintf(stderr, "\n");
      }
      if (setup.history) *setup.history = trainer.state().history;
      std::printf("%s\n", setup.log_path.c_str());
      return kExitOk;
    }
    case StopReason::kDiverged: {
      log.set_events(trainer.state().events);
      log.write("diverged", trainer.state().history, wall());
      const auto [epoch, step] = trainer.diverged_at();
      std::fprintf(stderr,
                   "\n%s: training diverged at epoch %d, step %zu: the loss or the weights are "
                   "NaN or infinite (is the learning rate %g too high?)\nlog: %s\n",
                   e.name.c_str(), epoch, step, e.optimizer.learning_rate, setup.log_path.c_str());
      return kExitDiverged;
    }
    case StopReason::kInterrupted: {
      save_checkpoint(setup.checkpoint_path, e, trainer, run_info);
      log.set_events(trainer.state().events);
      log.write("interrupted", trainer.state().history, wall());
      std::fprintf(stderr,
                   "\ninterrupted by %s at epoch %d, step %zu\ncheckpoint: %s\nlog: %s\n"
                   "continue with: run_experiment --resume %s\n",
                   g_signal == SIGTERM ? "SIGTERM" : "SIGINT", trainer.state().epoch + 1,
                   trainer.state().step, setup.checkpoint_path.c_str(), setup.log_path.c_str(),
                   setup.checkpoint_path.c_str());
      std::printf("%s\n", setup.log_path.c_str());
      return g_signal == SIGTERM ? kExitSigterm : kExitSigint;
    }
  }
  return kExitOther;
}

// `option` names the command-line option the target came from, for the message.
void select_target_or_throw(const std::string& name, const std::string& option) {
  if (!kernels::select_simd_target(name)) {
    throw ConfigError(option + ": no compiled and supported target named \"" + name +
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

int run_checked(const RunOptions& o) {
  std::optional<Checkpoint> checkpoint;
  Experiment e;
  std::string source = o.experiment_path;
  if (!o.resume.empty()) {
    checkpoint = read_checkpoint(o.resume);
    e = checkpoint->experiment;
    source = o.resume;
  } else {
    e = load_experiment(o.experiment_path);
  }
  const Experiment as_written = e;
  if (o.epochs) e.epochs = *o.epochs;
  if (o.batch_size) e.batch_size = *o.batch_size;
  if (o.seed) e.seed = *o.seed;
  if (o.threads) e.threads = *o.threads;
  validate_experiment(e, source);
  if (checkpoint && (o.batch_size || o.seed)) {
    throw ConfigError("--resume: the batch size and seed come from the checkpoint");
  }
  if (o.checkpoint_every < 0) throw ConfigError("--checkpoint-every: expected a positive number");
  if (o.dry_run) {
    std::fprintf(stderr, "%s", model_summary(e.name, kExperimentInputs, e.model).c_str());
    std::printf("%s\n", e.to_json().dump(2).c_str());
    return kExitOk;
  }

  const nlohmann::json saved = checkpoint ? checkpoint->run_info : nlohmann::json::object();
  const size_t train_limit = o.train_limit ? o.train_limit : saved.value("train_limit", size_t{0});
  const size_t test_limit = o.test_limit ? o.test_limit : saved.value("test_limit", size_t{0});
  std::string simd = o.simd_target;
  if (simd.empty() && checkpoint) simd = saved.value("simd_target", std::string());
  if (!simd.empty()) select_target_or_throw(simd, "--simd-target");

  const std::string data_dir = data_dir_for(o);
  Dataset train = load_dataset(data_dir, e.dataset, "train", train_limit);
  const Dataset test = load_dataset(data_dir, e.dataset, "test", test_limit);
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
  install_signal_handlers();

  nlohmann::json run_info = {{"train_limit", train_limit}, {"test_limit", test_limit}};
  // A resumed run keeps what its first part decided.
  run_info["reference_applies"] =
      checkpoint ? saved.value("reference_applies", false)
                 : e.epochs == as_written.epochs && e.batch_size == as_written.batch_size &&
                       train_limit == 0 && test_limit == 0;
  const int default_threads = e.threads > 0 ? e.threads : available_cpus();

  if (o.sweep_threads.empty() && o.sweep_simd.empty()) {
    RunSetup setup;
    setup.threads = default_threads;
    setup.resume = checkpoint ? &*checkpoint : nullptr;
    if (!o.out.empty()) {
      setup.log_path = o.out;
    } else if (checkpoint && saved.contains("log")) {
      setup.log_path = saved["log"].get<std::string>();
    } else {
      setup.log_path = repo_root() + "/results/runs/" + e.name + "/" + utc_stamp_compact() + "-t" +
                       std::to_string(setup.threads) + ".json";
    }
    setup.overwrite = o.force || checkpoint.has_value();
    setup.checkpoint_path = !o.checkpoint.empty() ? o.checkpoint
                            : checkpoint           ? checkpoint->path
                                                   : replace_extension(setup.log_path, ".ckpt");
    run_info["simd_target"] = simd;
    setup.run_info = run_info;
    setup.reference_applies = run_info["reference_applies"].get<bool>();
    return train_one(e, train, test, val, setup, o);
  }

  if (checkpoint) throw ConfigError("--resume cannot be combined with a sweep");
  const std::string folder = !o.out.empty() ? o.out
                             : repo_root() + "/results/runs/" + e.name + "/sweep-" + utc_stamp_compact();
  std::vector<int> thread_counts = o.sweep_threads;
  if (thread_counts.empty()) thread_counts.push_back(default_threads);
  std::vector<std::string> targets = o.sweep_simd;
  if (targets.size() == 1 && targets.front() == "all") targets = kernels::supported_targets();
  if (targets.empty()) targets.push_back(simd.empty() ? kernels::active_target() : simd);
  for (const auto& t : targets) select_target_or_throw(t, "--sweep-simd");  // before any run
  for (int threads : thread_counts) {
    if (threads < 1 || threads > 1024) throw ConfigError("--sweep-threads: expected counts from 1 to 1024");
  }
  std::vector<SweepRow> rows;
  std::vector<EpochResult> first, history;
  for (const std::string& target : targets) {
    select_target_or_throw(target, "--sweep-simd");
    for (int threads : thread_counts) {
      RunSetup setup;
      setup.threads = threads;
      setup.log_path = folder + "/" + e.name + "-t" + std::to_string(threads) + "-" +
                       kernels::active_target() + ".json";
      setup.overwrite = o.force;
      setup.checkpoint_path = replace_extension(setup.log_path, ".ckpt");
      run_info["simd_target"] = target;
      setup.run_info = run_info;
      setup.summary = rows.empty();
      setup.reference_applies = run_info["reference_applies"].get<bool>();
      setup.history = &history;
      const int status = train_one(e, train, test, val, setup, o);
      if (status != kExitOk) return status;
      if (rows.empty()) first = history;
      rows.push_back({threads, kernels::active_target(),
                      summary_json(history, 0)["median_epoch_seconds"].get<double>(),
                      same_numbers(first, history)});
    }
  }
  if (!o.quiet) {
    std::fprintf(stderr, "\nSweep of %zu runs in %s\n%splot it with: tools/plot_scaling.py %s\n",
                 rows.size(), folder.c_str(), sweep_table(rows).c_str(), folder.c_str());
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
  try {
    return run_checked(o);
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitUsage;
  } catch (const DataError& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitData;
  } catch (const std::bad_alloc&) {
    std::fprintf(stderr, "error: out of memory\n");
    return kExitOther;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return kExitOther;
  }
}

}  // namespace mlpbench
