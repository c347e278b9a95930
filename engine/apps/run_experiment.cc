// run_experiment: trains an experiment file and writes its run log (docs/cli.md).
#include <CLI/CLI.hpp>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <sstream>

#include "mlpbench/build_info.h"
#include "mlpbench/cli_options.h"
#include "mlpbench/errors.h"
#include "mlpbench/kernels.h"
#include "mlpbench/option_table.h"
#include "mlpbench/run_info.h"
#include "mlpbench/runner.h"

namespace {

using mlpbench::cli::integer_in;

template <typename T>
std::vector<T> parse_list(const std::string& text, const char* option) {
  std::vector<T> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    if constexpr (std::is_same_v<T, int>) {
      long long v = 0;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
      if (ec == std::errc::result_out_of_range ||
          (ec == std::errc() && end == item.data() + item.size() &&
           v > std::numeric_limits<int>::max())) {
        throw CLI::ValidationError(option, item + " is too large");
      }
      if (ec != std::errc() || end != item.data() + item.size() || v < 1) {
        throw CLI::ValidationError(option, "expected positive integers separated by commas, got \"" + text + "\"");
      }
      out.push_back(static_cast<int>(v));
    } else {
      out.push_back(item);
    }
  }
  if (out.empty()) throw CLI::ValidationError(option, "expected a comma-separated list");
  return out;
}


// The options CLI11 reads as text: the lists, converted by to_options().
struct OptionText {
  std::string sweep_threads, sweep_simd, sweep_batch;
  bool list_targets = false;
};

void add_options(CLI::App& app, mlpbench::RunOptions& o, OptionText& t) {
  app.add_option("experiment", o.experiment_path, "Experiment file (JSON), e.g. experiments/mlp512_5ep.json");
  app.add_option("--threads", o.threads, "OpenMP threads, 0 to 1024 (default: the experiment's, else all cores; 0 = all cores)")
      ->check(integer_in(0, 1024, " (0 = all cores)"));
  mlpbench::cli::add_run_length_options(app, o.epochs, o.batch_size, o.train_limit, o.test_limit,
                                        std::numeric_limits<uint32_t>::max(), o.data_dir);
  app.add_option("--seed", o.seed, "Override the experiment's seed (0 to 18446744073709551615)")
      ->check(integer_in(0, std::numeric_limits<uint64_t>::max()));
  app.add_option("--shards", o.shards, "Override the experiment's micro-shards per batch (a power of two, 1 to 1024; see docs/experiment.md)")
      ->check(integer_in(1, 1024, " (a power of two)"));
  app.add_option("--out", o.out, "Log file (default results/runs/<name>/<UTC stamp>-s<seed>-t<threads>-p<pid>.json); a folder for sweeps; never replaces a file without --force");
  app.add_option("--save-weights", o.save_weights, "Write the trained model as a safetensors file");
  app.add_option("--simd-target", o.simd_target, "Run on one compiled Highway target (see --list-targets)");
  app.add_flag("--list-targets", t.list_targets, "Print compiled and supported SIMD targets and exit");
  app.add_flag("--quiet", o.quiet,
               "Only errors and the log path: no model summary, progress or per-epoch lines, "
               "final accuracy or sweep table");
  app.add_flag("--dry-run", o.dry_run,
               "Validate the experiment (with the overrides), print the model summary (stderr) "
               "and the resolved experiment as JSON (stdout), and exit: 0 valid, 2 not");
  app.add_option("--checkpoint", o.checkpoint, "Checkpoint file (written on interrupt and every --checkpoint-every epochs; default: the log path with .ckpt)");
  app.add_option("--checkpoint-every", o.checkpoint_every, "Save a checkpoint every N epochs (1 to 100000)")
      ->check(integer_in(1, 100000));
  app.add_option("--resume", o.resume, "Continue from a checkpoint: the experiment, data limits, SIMD target and log come from it, and the data must be its run's (docs/cli.md#resuming)");
  app.add_flag("--force", o.force, "Replace existing regular files at --out, --checkpoint and --save-weights (never special files)");
  app.add_flag("--distributed", o.distributed, "Train as one rank of an MPI job (start it with mpirun -n R; see docs/scaling.md)");
  app.add_option("--reduction", o.reduction, "Distributed: combine gradients by the fixed tree (the default, or on --resume the checkpoint's; numbers independent of the rank count) or by MPI_Allreduce (mpi, a baseline)")->check(CLI::IsMember({"tree", "mpi"}));
  app.add_option("--batch-size-per-rank", o.batch_size_per_rank, "Distributed weak scaling: N rows per rank, the global batch N x ranks (1 to 65536; instead of --batch-size; see --lr-scaling)")
      ->check(integer_in(1, 65536));
  app.add_option("--warmup-epochs", o.warmup_epochs, "With --lr-scaling linear or sqrt: the rate ramps linearly per update from the experiment's rate to the scaled one over E epochs (1 to 100000; Goyal et al. 2017)")
      ->check(integer_in(1, 100000));
  app.add_option("--sweep-batch-size", t.sweep_batch,
                 "One run per batch size, e.g. 32,64,128,256,512 (combines with --sweep-threads and "
                 "--sweep-simd; see --lr-scaling)");
  app.add_option("--lr-scaling", o.lr_scaling,
                 "Learning rate for a batch size B other than the experiment's B0: none, linear "
                 "(x B/B0) or sqrt (x sqrt(B/B0)); recorded in the log")
      ->check(CLI::IsMember(mlpbench::lr_rule_names()));
  app.add_option("--sweep-threads", t.sweep_threads, "One run per thread count, e.g. 1,2: logs side by side in one folder");
  const std::string targets = [] {
    std::string s;
    for (const auto& t : mlpbench::kernels::supported_targets()) s += (s.empty() ? "" : ",") + t;
    return s;
  }();
  app.add_option("--sweep-simd", t.sweep_simd,
                 "One run per SIMD target: a list such as " + targets +
                     " (this machine's), or all (combines with --sweep-threads)");
  app.add_option("--sweep-repeats", o.sweep_repeats,
                 "Run every configuration of the sweep N times (1 to 100), round by round: the spread "
                 "across runs, not across one run's epochs (alone: N runs of the experiment)")
      ->check(integer_in(1, 100));
  app.set_version_flag("--version", "run_experiment " + mlpbench::version() + " (" + mlpbench::git_commit() + ")");
}

void to_options(const OptionText& t, mlpbench::RunOptions& o) {
  if (!t.sweep_threads.empty()) o.sweep_threads = parse_list<int>(t.sweep_threads, "--sweep-threads");
  if (!t.sweep_simd.empty()) o.sweep_simd = parse_list<std::string>(t.sweep_simd, "--sweep-simd");
  if (!t.sweep_batch.empty()) o.sweep_batch_size = parse_list<int>(t.sweep_batch, "--sweep-batch-size");
}

}  // namespace

int main(int argc, char** argv) {
  mlpbench::RunOptions o;
  CLI::App app{"Trains a multilayer perceptron described by an experiment file and writes a JSON "
               "run log (schema mlpbench.run/1).\n\nExit status: 0 success; 2 bad command line or "
               "experiment, an output that exists (see --force), or a --resume of another run or of a run "
               "another process is writing; 3 dataset missing or corrupt; 4 "
               "training diverged; 130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP (checkpoint "
               "written); 1 anything else.",
               "run_experiment"};
  OptionText t;
  add_options(app, o, t);
  // An option without a row in the table would escape the combination checks.
  for (const CLI::Option* opt : app.get_options()) {
    if (!mlpbench::cli::option_rule(opt->get_name())) {
      std::fprintf(stderr, "internal error: option %s has no row in engine/include/mlpbench/option_table.h\n",
                   opt->get_name().c_str());
      return mlpbench::kExitOther;
    }
  }

  const auto status = mlpbench::cli::parse_or_exit(app, argc, argv, [&] {
    to_options(t, o);
    if (!t.list_targets && o.experiment_path.empty() && o.resume.empty()) {
      throw CLI::RequiredError("experiment (or --resume CHECKPOINT)");
    }
    const std::string refused = mlpbench::cli::refused_combination([&](std::string_view name) {
      const CLI::Option* opt = app.get_option_no_throw(std::string(name));
      return opt && opt->count() > 0;
    });
    if (!refused.empty()) throw CLI::ValidationError(refused);
  }, "");
  if (status) return *status;
  if (t.list_targets) {
    mlpbench::print_targets();
    return 0;
  }
  return mlpbench::run(o);
}
