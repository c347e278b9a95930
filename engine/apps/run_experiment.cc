// run_experiment: trains an experiment file and writes its run log (docs/cli.md).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <sstream>

#include "mlpbench/build_info.h"
#include "mlpbench/errors.h"
#include "mlpbench/kernels.h"
#include "mlpbench/runner.h"

namespace {

template <typename T>
std::vector<T> parse_list(const std::string& text, const char* option) {
  std::vector<T> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    if constexpr (std::is_same_v<T, int>) {
      size_t used = 0;
      int v = 0;
      try {
        v = std::stoi(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != item.size() || v < 1) {
        throw CLI::ValidationError(option, "expected positive integers separated by commas, got \"" + text + "\"");
      }
      out.push_back(v);
    } else {
      out.push_back(item);
    }
  }
  if (out.empty()) throw CLI::ValidationError(option, "expected a comma-separated list");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  mlpbench::RunOptions o;
  CLI::App app{"Trains a multilayer perceptron described by an experiment file and writes a JSON "
               "run log (schema mlpbench.run/1).\n\nExit status: 0 success; 2 bad command line or "
               "experiment; 3 dataset missing or corrupt; 4 training diverged; 130/143 interrupted "
               "(checkpoint written); 1 anything else.",
               "run_experiment"};
  app.add_option("experiment", o.experiment_path, "Experiment file (JSON), e.g. experiments/mlp512_5ep.json");
  int threads = -1, epochs = -1, batch_size = -1;
  int64_t seed = -1;
  app.add_option("--threads", threads, "OpenMP threads (default: the experiment's, else all cores)")->check(CLI::Range(0, 1024));
  app.add_option("--epochs", epochs, "Override the experiment's epochs")->check(CLI::Range(1, 100000));
  app.add_option("--batch-size", batch_size, "Override the experiment's batch size")->check(CLI::Range(1, 65536));
  app.add_option("--seed", seed, "Override the experiment's seed")->check(CLI::NonNegativeNumber);
  app.add_option("--train-limit", o.train_limit, "Use only the first N training samples");
  app.add_option("--test-limit", o.test_limit, "Use only the first N test samples");
  app.add_option("--data-dir", o.data_dir, "Where datasets live (default: $MLPBENCH_DATA or data/ at the repo root)");
  app.add_option("--out", o.out, "Log file (default results/runs/<name>/<UTC stamp>-t<threads>.json); a folder for sweeps");
  app.add_option("--save-weights", o.save_weights, "Write the trained model as a safetensors file");
  app.add_option("--simd-target", o.simd_target, "Run on one compiled Highway target (see --list-targets)");
  bool list_targets = false;
  app.add_flag("--list-targets", list_targets, "Print compiled and supported SIMD targets and exit");
  app.add_flag("--quiet", o.quiet,
               "Only errors and the log path: no model summary, progress or per-epoch lines, "
               "final accuracy or sweep table");
  app.add_flag("--dry-run", o.dry_run,
               "Validate the experiment (with the overrides), print the model summary (stderr) "
               "and the resolved experiment as JSON (stdout), and exit: 0 valid, 2 not");
  app.add_option("--checkpoint", o.checkpoint, "Checkpoint file (written on interrupt and every --checkpoint-every epochs; default: the log path with .ckpt)");
  app.add_option("--checkpoint-every", o.checkpoint_every, "Save a checkpoint every N epochs")->check(CLI::Range(1, 100000));
  app.add_option("--resume", o.resume, "Continue from a checkpoint (the experiment comes from it)");
  app.add_flag("--force", o.force, "Overwrite an existing log at --out");
  std::string sweep_threads, sweep_simd;
  app.add_option("--sweep-threads", sweep_threads, "One run per thread count, e.g. 1,2: logs side by side in one folder");
  const std::string targets = [] {
    std::string s;
    for (const auto& t : mlpbench::kernels::supported_targets()) s += (s.empty() ? "" : ",") + t;
    return s;
  }();
  app.add_option("--sweep-simd", sweep_simd,
                 "One run per SIMD target: a list such as " + targets +
                     " (this machine's), or all (combines with --sweep-threads)");
  app.set_version_flag("--version", "run_experiment " + mlpbench::version() + " (" + mlpbench::git_commit() + ")");

  try {
    app.parse(argc, argv);
    if (!sweep_threads.empty()) o.sweep_threads = parse_list<int>(sweep_threads, "--sweep-threads");
    if (!sweep_simd.empty()) o.sweep_simd = parse_list<std::string>(sweep_simd, "--sweep-simd");
    if (!list_targets && o.experiment_path.empty() && o.resume.empty()) {
      throw CLI::RequiredError("experiment (or --resume CHECKPOINT)");
    }
    if (!o.experiment_path.empty() && !o.resume.empty()) {
      throw CLI::ValidationError("--resume", "takes the experiment from the checkpoint; give no experiment file");
    }
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::printf("%s\n", app.version().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\nRun with --help for the options.\n", e.what());
    return mlpbench::kExitUsage;
  }
  if (list_targets) {
    mlpbench::print_targets();
    return 0;
  }
  if (threads >= 0) o.threads = threads;
  if (epochs >= 0) o.epochs = epochs;
  if (batch_size >= 0) o.batch_size = batch_size;
  if (seed >= 0) o.seed = static_cast<uint64_t>(seed);
  return mlpbench::run(o);
}
