#pragma once
// What the C++ peers (libtorch_mlp.cc, onednn_mlp.cc) share, so that they read the same command
// line, refuse the same experiments and run the same epochs, and differ only in how a batch is
// trained and the test set evaluated: the common options, the experiment with its overrides,
// the data folder, the epoch loop (the engine's seeded shuffle, the schedule's rate per update,
// the run log after every epoch, SIGHUP/SIGINT/SIGTERM), the engine's checks of the log's path
// and the exit status of an error. Needs CLI11.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <limits>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "mlpbench/cli_options.h"
#include "mlpbench/dataset.h"
#include "mlpbench/default_paths.h"
#include "mlpbench/errors.h"
#include "mlpbench/experiment.h"
#include "mlpbench/model.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/rng.h"
#include "mlpbench/run_log.h"
#include "mlpbench/runner.h"
#include "mlpbench/schedule.h"

namespace mlpbench::peer {

struct Options {
  std::string experiment;
  std::optional<int> threads, epochs, batch_size;
  std::optional<uint64_t> seed;
  size_t train_limit = 0, test_limit = 0;
  int eval_batch_size = 1000;
  std::string data_dir, out, config_name = "default";
  bool force = false, quiet = false;
};

// "" would silently mean "not given" (--out "" a default log path): refused, as the engine does.
inline CLI::Validator non_empty() {
  return CLI::Validator([](std::string& text) { return text.empty() ? std::string("an empty value") : std::string(); },
                        "", "NONEMPTY");
}

inline void add_options(CLI::App& app, Options& o, const std::string& threads_help,
                        const std::string& out_help) {
  app.add_option("experiment", o.experiment, "Experiment file (JSON), e.g. experiments/mlp512_5ep.json")
      ->required()
      ->check(non_empty());
  app.add_option("--threads", o.threads, threads_help)->transform(cli::integer_in(1, 1024));
  app.add_option("--seed", o.seed, "Override the experiment's seed (0 to 2^63-1)")
      ->transform(cli::integer_in(0, std::numeric_limits<int64_t>::max(), " (2^63-1)"));
  app.add_option("--eval-batch-size", o.eval_batch_size, "Batch size of the test-set evaluation (default 1000)")
      ->transform(cli::integer_in(1, 1 << 20));
  cli::add_run_length_options(app, o.epochs, o.batch_size, o.train_limit, o.test_limit,
                              std::numeric_limits<int32_t>::max(), o.data_dir);
  app.add_option("--out", o.out, out_help)->check(non_empty());
  app.add_option("--config-name", o.config_name, "Label recorded as build.peer_config.name (side_by_side.py sets it)")
      ->check(non_empty());
  app.add_flag("--force", o.force, "Replace an existing log at --out");
  app.add_flag("--quiet", o.quiet, "Only errors and the log path");
}

// The engine's experiment with the command line's overrides; what the peer (`who`, e.g. "the
// libtorch peer") cannot do is refused by field (exit 2) rather than silently trained differently.
inline Experiment resolve_experiment(const Options& o, const std::string& who) {
  Experiment e = load_experiment(o.experiment);
  if (o.epochs) e.epochs = *o.epochs;
  if (o.batch_size) e.batch_size = *o.batch_size;
  if (o.seed) e.seed = *o.seed;
  validate_experiment(e, o.experiment);
  if (e.validation_split > 0) {
    throw ConfigError(o.experiment + ": /validation_split: " + who + " trains on all training "
                      "samples; use run_experiment for validation splits");
  }
  if (e.callbacks.early_stopping || e.callbacks.reduce_lr_on_plateau) {
    throw ConfigError(o.experiment + ": /callbacks: " + who + " implements no callbacks; use "
                      "run_experiment for them");
  }
  return e;
}

// --data-dir, else the engine's default (docs/cli.md#default-locations).
inline std::string data_dir(const Options& o) {
  return !o.data_dir.empty() ? o.data_dir : default_data_dir();
}

// The log's path checked before training as run_experiment checks its outputs (ConfigError, exit
// 2): not a folder or special file, not existing without --force, its folder writable, and never
// a file the run reads (the experiment, the four data files), not even with --force.
inline void check_log_path(const Options& o, const std::string& out, const Dataset& train, const Dataset& test) {
  check_outputs({{out, "--out", o.force}},
                {o.experiment, train.images_path, train.labels_path, test.images_path, test.labels_path});
}

inline std::string env_or_unset(const char* key) {
  const char* v = std::getenv(key);
  return v ? v : "unset";
}

inline volatile std::sig_atomic_t g_signal = 0;
inline void on_signal(int sig) { g_signal = sig; }

// How the peer trains: on_epoch(order) once an epoch with its sample order; step(first, rows,
// update, rate) trains the batch order[first, first + rows) as update `update` (from 1) and
// returns the batch's summed loss and its correct predictions; evaluate() the test set.
struct Trainer {
  std::function<void(const std::vector<uint32_t>& order)> on_epoch;
  struct Step {
    double loss_sum = 0;
    uint64_t correct = 0;
  };
  std::function<Step(size_t first, size_t rows, uint64_t update, double rate)> step;
  std::function<Evaluation()> evaluate;
};

// Every epoch of `e` on `n` training samples, the log written after each; prints the log's path
// and returns the exit status (0, 4 diverged, 128 + signal interrupted: 129 SIGHUP, 130 SIGINT,
// 143 SIGTERM). `prefix`: "libtorch_mlp".
inline int run_epochs(const Experiment& e, size_t n, RunLog& log, const Trainer& trainer, const Options& o,
                      const char* prefix, std::chrono::steady_clock::time_point t_wall) {
  auto since = [](std::chrono::steady_clock::time_point t0) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  };
  std::vector<EpochResult> history;
  // Before the first write: a signal after it must not leave a log that says "running" forever.
  for (int sig : {SIGHUP, SIGINT, SIGTERM}) std::signal(sig, on_signal);
  log.write("running", history, since(t_wall));

  const double flops_per_sample = Mlp(kExperimentInputs, e.model).training_flops_per_sample();
  auto rate = [&](uint64_t t) {
    return e.optimizer.schedule ? schedule_rate(*e.optimizer.schedule, t - 1) : e.optimizer.learning_rate;
  };
  Rng shuffle_rng(e.seed, kShuffleStream);
  const size_t batch = static_cast<size_t>(e.batch_size);
  const size_t steps = (n + batch - 1) / batch;
  std::string status = "completed";
  int code = kExitOk;
  int diverged_epoch = 0;
  size_t diverged_step = 0;
  uint64_t updates = 0;
  std::vector<uint32_t> order(n);
  for (int epoch = 1; epoch <= e.epochs && status == "completed"; ++epoch) {
    std::iota(order.begin(), order.end(), 0u);
    if (e.shuffle) shuffle(order, shuffle_rng);
    trainer.on_epoch(order);
    EpochResult r;
    r.epoch = epoch;
    r.learning_rate = rate(updates + 1);
    double loss_sum = 0;
    uint64_t correct = 0, seen = 0;
    const auto t0 = std::chrono::steady_clock::now();
    for (size_t s = 0; s < steps; ++s) {
      const size_t first = s * batch, rows = std::min(n, first + batch) - first;
      ++updates;
      const Trainer::Step done = trainer.step(first, rows, updates, rate(updates));
      loss_sum += done.loss_sum;
      correct += done.correct;
      seen += rows;
      r.steps = s + 1;
      if (!std::isfinite(done.loss_sum)) {
        status = "diverged";
        code = kExitDiverged;
        diverged_epoch = epoch;
        diverged_step = s + 1;
        break;
      }
      if (g_signal) {
        status = "interrupted";
        code = 128 + g_signal;
        break;
      }
    }
    r.train_seconds = since(t0);
    r.learning_rate_end = rate(updates);
    r.train_loss = loss_sum / static_cast<double>(seen);
    r.train_accuracy = static_cast<double>(correct) / static_cast<double>(seen);
    r.samples_per_second = static_cast<double>(seen) / r.train_seconds;
    r.gflops = flops_per_sample * static_cast<double>(seen) / r.train_seconds / 1e9;
    if (status != "completed") break;  // a partial epoch is not an epoch of the log
    const auto e0 = std::chrono::steady_clock::now();
    const Evaluation ev = trainer.evaluate();
    r.eval_seconds = since(e0);
    r.test_loss = ev.loss;
    r.test_accuracy = ev.accuracy;
    history.push_back(r);
    log.set_evaluation(ev);
    if (!std::isfinite(ev.loss)) {  // non-finite weights: the engine names the epoch's last step
      status = "diverged";
      code = kExitDiverged;
      diverged_epoch = epoch;
      diverged_step = r.steps;
    }
    if (!o.quiet) {
      std::fprintf(stderr, "Epoch %d/%d: %zu steps - %.2fs - loss: %.4f - accuracy: %.4f - test_loss: %.4f - "
                   "test_accuracy: %.4f (%.0f samples/s, %.1f GFLOP/s)\n", epoch, e.epochs, r.steps,
                   r.train_seconds, r.train_loss, r.train_accuracy, r.test_loss, r.test_accuracy,
                   r.samples_per_second, r.gflops);
    }
    log.write(status == "completed" && epoch < e.epochs ? "running" : status, history, since(t_wall));
    if (g_signal && status == "completed" && epoch < e.epochs) {
      status = "interrupted";
      code = 128 + g_signal;
    }
  }
  if (status == "interrupted") std::fprintf(stderr, "%s: interrupted by signal %d\n", prefix, code - 128);
  for (int sig : {SIGHUP, SIGINT, SIGTERM}) std::signal(sig, SIG_IGN);
  log.write(status, history, since(t_wall));
  if (status == "diverged") {  // the engine's words (run_report.cc), never a printed "-nan"
    std::fprintf(stderr, "%s: %s: training diverged at epoch %d, step %zu: the loss or the weights are NaN or "
                 "infinite (is the learning rate %g too high?)\n", prefix, e.name.c_str(), diverged_epoch,
                 diverged_step, e.optimizer.learning_rate);
  }
  std::printf("%s\n", log.path().c_str());
  return code;
}

// Runs `train` and turns its errors into the documented exit statuses: 2 bad experiment or a log
// path refused before training, 3 data, 1 anything else, each with one line on stderr after `prefix`.
inline int exit_status(const char* prefix, const std::function<int()>& train) {
  try {
    return train();
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "%s: error: %s\n", prefix, e.what());
    return kExitUsage;
  } catch (const OutputExists& e) {
    std::fprintf(stderr, "%s: error: %s (use --force to replace it)\n", prefix, e.what());
    return kExitUsage;
  } catch (const DataError& e) {
    std::fprintf(stderr, "%s: error: %s\n", prefix, e.what());
    return kExitData;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: error: %s\n", prefix, e.what());
    return kExitOther;
  }
}

}  // namespace mlpbench::peer
