#pragma once
// Every run_experiment option in one table: its name, the RunOptions field it sets, its help,
// its range or choices, and the modes it may be combined with. run_experiment registers its
// command line from the table (a new option is its RunOptions field, its row here and its use in
// run/run_plan.cc), the command line's validation reads it (refused_combination), and
// tests/test_options.cc walks every row against every mode and checks docs/cli.md's table
// against it.
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "mlpbench/run_info.h"
#include "mlpbench/runner.h"

namespace mlpbench::cli {

// With --resume: the option may be given (kAllowed), must equal what the checkpoint's run used
// (kSameAsCheckpoint: run/run_identity.cc compares it), or cannot be given (kForbidden).
enum class OnResume { kAllowed, kSameAsCheckpoint, kForbidden };
// With --distributed: with or without it (kEither), never with it (kNever), only with it (kOnly).
enum class WithDistributed { kEither, kNever, kOnly };

// The RunOptions member an option sets: a flag, a value, an optional override, or a
// comma-separated list. std::monostate: the program's own (--list-targets, --help, --version).
static_assert(std::is_same_v<size_t, uint64_t>, "the sample limits share the seed's type");
using OptionField =
    std::variant<std::monostate, bool RunOptions::*, int RunOptions::*, std::string RunOptions::*,
                 std::optional<int> RunOptions::*, std::optional<uint64_t> RunOptions::*,
                 std::vector<int> RunOptions::*, std::vector<std::string> RunOptions::*>;

// An integer option's values, lo to hi ("expected an integer from lo to hi<note>"); hi 0: none.
struct IntRange {
  uint64_t lo = 0, hi = 0;
  std::string_view note = "";
};

struct OptionRule {
  std::string_view name = "";  // as CLI11 names it: "--epochs", or "experiment" for the positional
  OptionField field = {};
  // --help's text; "{targets}" stands for this machine's supported SIMD targets.
  std::string_view help = "";
  IntRange range = {};
  std::vector<std::string> (*choices)() = nullptr;  // the values allowed (null: any)
  OnResume on_resume = OnResume::kAllowed;
  bool with_sweep = true;  // may be combined with --sweep-threads, --sweep-simd or --sweep-batch-size
  WithDistributed with_distributed = WithDistributed::kEither;
  std::string_view not_with = "";  // another option setting the same thing, e.g. per run of a sweep ("": none)
  std::string_view why = "";       // why the row is what it is (refusals say it)
};

using enum OnResume;
using enum WithDistributed;

// run_experiment's largest --train-limit and --test-limit (the peers give their own).
inline constexpr uint64_t kMaxSamples = std::numeric_limits<uint32_t>::max();
constexpr std::string_view kSweepWhy = "a sweep starts new runs, one after another, in one process";

// The modes are --resume, a sweep (any --sweep-* option: is_sweep_option) and --distributed;
// --dry-run checks the same combinations without running. Rows are in --help's order.
inline constexpr std::array kRunExperimentOptions = {
    OptionRule{.name = "experiment", .field = &RunOptions::experiment_path,
               .help = "Experiment file (JSON), e.g. experiments/mlp512_5ep.json",
               .on_resume = kForbidden, .why = "takes the experiment from the checkpoint; give no experiment file"},
    OptionRule{.name = "--threads", .field = &RunOptions::threads,
               .help = "OpenMP threads, 0 to 1024 (default: the experiment's, else all cores; 0 = all cores)",
               .range = {0, 1024, " (0 = all cores)"},
               .not_with = "--sweep-threads", .why = "a thread sweep sets the threads of each run"},
    OptionRule{.name = "--epochs", .field = &RunOptions::epochs,
               .help = "Override the experiment's epochs (1 to 100000)",
               .range = {1, 100000},
               .why = "a resumed run may extend its epochs, never cut them below its progress"},
    OptionRule{.name = "--batch-size", .field = &RunOptions::batch_size,
               .help = "Override the experiment's batch size (1 to 65536)",
               .range = {1, 65536}, .on_resume = kSameAsCheckpoint,
               .not_with = "--sweep-batch-size", .why = "a batch-size sweep sets the batch size of each run"},
    OptionRule{.name = "--train-limit", .field = &RunOptions::train_limit,
               .help = "Use only the first N training samples (0, the default, = all)",
               .range = {0, kMaxSamples, " (0 = all)"}, .on_resume = kSameAsCheckpoint,
               .why = "the training samples are the run's"},
    OptionRule{.name = "--test-limit", .field = &RunOptions::test_limit,
               .help = "Use only the first N test samples (0, the default, = all)",
               .range = {0, kMaxSamples, " (0 = all)"}, .on_resume = kSameAsCheckpoint,
               .why = "the test samples are the run's"},
    OptionRule{.name = "--data-dir", .field = &RunOptions::data_dir,
               .help = "Where datasets live (default: $MLPBENCH_DATA, else data/ in the checkout holding the "
                       "current folder)",
               .why = "a resumed run checks the data against the checkpoint's digests"},
    OptionRule{.name = "--seed", .field = &RunOptions::seed,
               .help = "Override the experiment's seed (0 to 18446744073709551615)",
               .range = {0, std::numeric_limits<uint64_t>::max()}, .on_resume = kSameAsCheckpoint,
               .why = "the seed is the run's"},
    OptionRule{.name = "--shards", .field = &RunOptions::shards,
               .help = "Override the experiment's micro-shards per batch (a power of two, 1 to 1024; see "
                       "docs/experiment.md)",
               .range = {1, 1024, " (a power of two)"}, .on_resume = kSameAsCheckpoint,
               .why = "the shards are the run's"},
    OptionRule{.name = "--out", .field = &RunOptions::out,
               .help = "Log file (default results/runs/<name>/<UTC stamp>-s<seed>-t<threads>-p<pid>.json); a "
                       "folder for sweeps; never replaces a file without --force"},
    OptionRule{.name = "--save-weights", .field = &RunOptions::save_weights,
               .help = "Write the trained model as a safetensors file",
               .with_sweep = false, .why = "a sweep writes no weights (one run only)"},
    OptionRule{.name = "--simd-target", .field = &RunOptions::simd_target,
               .help = "Run on one compiled Highway target (see --list-targets)", .on_resume = kSameAsCheckpoint,
               .not_with = "--sweep-simd", .why = "a SIMD sweep sets the target of each run"},
    OptionRule{.name = "--list-targets", .field = {}, .help = "Print compiled and supported SIMD targets and exit"},
    OptionRule{.name = "--quiet", .field = &RunOptions::quiet,
               .help = "Only errors, warnings and the log path: no model summary, progress or per-epoch lines, "
                       "final accuracy or sweep table"},
    OptionRule{.name = "--dry-run", .field = &RunOptions::dry_run,
               .help = "Validate the experiment (with the overrides), print the model summary (stderr) "
                       "and the resolved experiment as JSON (stdout), and exit: 0 valid, 2 not"},
    OptionRule{.name = "--checkpoint", .field = &RunOptions::checkpoint,
               .help = "Checkpoint file (written on interrupt and every --checkpoint-every epochs; default: "
                       "the log path with .ckpt)",
               .with_sweep = false, .why = "each run of a sweep saves its checkpoint beside its log"},
    OptionRule{.name = "--checkpoint-every", .field = &RunOptions::checkpoint_every,
               .help = "Save a checkpoint every N epochs (1 to 100000)", .range = {1, 100000}},
    OptionRule{.name = "--resume", .field = &RunOptions::resume,
               .help = "Continue from a checkpoint: the experiment, data limits, SIMD target and log come from "
                       "it, and the data must be its run's (docs/cli.md#resuming)",
               .with_sweep = false, .why = "a checkpoint continues one run; a sweep starts new ones"},
    OptionRule{.name = "--force", .field = &RunOptions::force,
               .help = "Replace existing regular files at --out, --checkpoint and --save-weights (never "
                       "special files)"},
    OptionRule{.name = "--distributed", .field = &RunOptions::distributed,
               .help = "Train as one rank of an MPI job (start it with mpirun -n R; see docs/scaling.md)",
               .with_sweep = false, .why = "every rank would run the whole sweep"},
    OptionRule{.name = "--reduction", .field = &RunOptions::reduction,
               .help = "Distributed: combine gradients by the fixed tree (the default, or on --resume the "
                       "checkpoint's; numbers independent of the rank count) or by MPI_Allreduce (mpi, a "
                       "baseline)",
               .choices = [] { return std::vector<std::string>{"tree", "mpi"}; }, .on_resume = kSameAsCheckpoint,
               .with_distributed = kOnly, .why = "how ranks combine their gradients"},
    OptionRule{.name = "--batch-size-per-rank", .field = &RunOptions::batch_size_per_rank,
               .help = "Distributed weak scaling: N rows per rank, the global batch N x ranks (1 to 65536; "
                       "instead of --batch-size; see --lr-scaling)",
               .range = {1, 65536}, .on_resume = kForbidden, .with_distributed = kOnly, .not_with = "--batch-size",
               .why = "weak scaling: the global batch is N x ranks, fixed when the run started; give it or "
                      "--batch-size (strong scaling), not both; in one process use --batch-size"},
    OptionRule{.name = "--warmup-epochs", .field = &RunOptions::warmup_epochs,
               .help = "With --lr-scaling linear or sqrt: the rate ramps linearly per update from the "
                       "experiment's rate to the scaled one over E epochs (1 to 100000; Goyal et al. 2017)",
               .range = {1, 100000}, .on_resume = kForbidden,
               .why = "the batch size and the warmup come from the checkpoint"},
    OptionRule{.name = "--sweep-batch-size", .field = &RunOptions::sweep_batch_size,
               .help = "One run per batch size, e.g. 32,64,128,256,512 (combines with --sweep-threads and "
                       "--sweep-simd; see --lr-scaling)",
               .on_resume = kForbidden, .with_distributed = kNever, .why = kSweepWhy},
    OptionRule{.name = "--lr-scaling", .field = &RunOptions::lr_scaling,
               .help = "Learning rate for a batch size B other than the experiment's B0: none, linear "
                       "(x B/B0) or sqrt (x sqrt(B/B0)); recorded in the log",
               .choices = lr_rule_names, .on_resume = kForbidden,
               .why = "the checkpoint holds the scaled rate and its rule"},
    OptionRule{.name = "--sweep-threads", .field = &RunOptions::sweep_threads,
               .help = "One run per thread count, e.g. 1,2: logs side by side in one folder",
               .on_resume = kForbidden, .with_distributed = kNever, .why = kSweepWhy},
    OptionRule{.name = "--sweep-simd", .field = &RunOptions::sweep_simd,
               .help = "One run per SIMD target: a list such as {targets} (this machine's), or all (combines "
                       "with --sweep-threads)",
               .on_resume = kForbidden, .with_distributed = kNever, .why = kSweepWhy},
    OptionRule{.name = "--sweep-repeats", .field = &RunOptions::sweep_repeats,
               .help = "Run every configuration of the sweep N times (1 to 100), round by round: the spread "
                       "across runs, not across one run's epochs (alone: N runs of the experiment)",
               .range = {1, 100}, .on_resume = kForbidden, .with_distributed = kNever, .why = kSweepWhy},
    OptionRule{.name = "--help", .field = {}},
    OptionRule{.name = "--version", .field = {}},
};

// A sweep option: one run per value of its list.
constexpr bool is_sweep_option(std::string_view name) { return name.starts_with("--sweep-"); }

// The row of `name`, or nullptr.
inline const OptionRule* option_rule(std::string_view name) {
  for (const OptionRule& r : kRunExperimentOptions) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

// Checks the options given (`given(name)`: the option is on the command line) against the
// table. Returns the first refused combination as "<option>: <what>", or "" if there is none.
template <class Given>
std::string refused_combination(const Given& given) {
  const bool resume = given("--resume"), distributed = given("--distributed");
  std::string sweep;  // the first sweep option given
  for (const OptionRule& r : kRunExperimentOptions) {
    if (sweep.empty() && is_sweep_option(r.name) && given(r.name)) sweep = r.name;
  }
  for (const OptionRule& r : kRunExperimentOptions) {
    if (!given(r.name)) continue;
    const std::string name(r.name), why(r.why);
    if (resume && r.on_resume == kForbidden) {
      if (r.name == "experiment") return "--resume: " + why;
      return name + ": not with --resume (" + why + ")";
    }
    if (!sweep.empty() && !r.with_sweep) return name + ": not with a sweep (" + sweep + "): " + why;
    if (!r.not_with.empty() && given(r.not_with)) {
      return name + ": not with " + std::string(r.not_with) + " (" + why + ")";
    }
    if (distributed && r.with_distributed == kNever) return name + ": not with --distributed (" + why + ")";
    if (!distributed && r.with_distributed == kOnly) return name + ": only with --distributed (" + why + ")";
  }
  return "";
}

}  // namespace mlpbench::cli
