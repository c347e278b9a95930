#pragma once
// Every run_experiment option and the modes it may be combined with, in one table. The command
// line's validation reads it (refused_combination), run_experiment refuses to start when one of
// its options has no row, and tests/test_options.cc walks every row against every mode and
// checks docs/cli.md's table against it.
#include <array>
#include <string>
#include <string_view>

namespace mlpbench::cli {

// With --resume: the option may be given (kAllowed), must equal what the checkpoint's run used
// (kSameAsCheckpoint: runner.cc compares it), or cannot be given (kForbidden).
enum class OnResume { kAllowed, kSameAsCheckpoint, kForbidden };
// With --distributed: with or without it (kEither), never with it (kNever), only with it (kOnly).
enum class WithDistributed { kEither, kNever, kOnly };

struct OptionRule {
  std::string_view name;  // as CLI11 names it: "--epochs", or "experiment" for the positional
  OnResume on_resume;
  bool with_sweep;  // may be combined with --sweep-threads, --sweep-simd or --sweep-batch-size
  WithDistributed with_distributed;
  std::string_view not_with;  // another option setting the same thing, e.g. per run of a sweep ("": none)
  std::string_view why;       // why the row is what it is (refusals say it)
};

using enum OnResume;
using enum WithDistributed;

// The modes are --resume, a sweep (any --sweep-* option: is_sweep_option) and --distributed;
// --dry-run checks the same combinations without running. Rows are in --help's order.
inline constexpr std::array kRunExperimentOptions = {
    OptionRule{"experiment", kForbidden, true, kEither, "", "takes the experiment from the checkpoint; give no experiment file"},
    OptionRule{"--threads", kAllowed, true, kEither, "--sweep-threads", "a thread sweep sets the threads of each run"},
    OptionRule{"--epochs", kAllowed, true, kEither, "", "a resumed run may extend its epochs, never cut them below its progress"},
    OptionRule{"--batch-size", kSameAsCheckpoint, true, kEither, "--sweep-batch-size", "a batch-size sweep sets the batch size of each run"},
    OptionRule{"--train-limit", kSameAsCheckpoint, true, kEither, "", "the training samples are the run's"},
    OptionRule{"--test-limit", kSameAsCheckpoint, true, kEither, "", "the test samples are the run's"},
    OptionRule{"--data-dir", kAllowed, true, kEither, "", "a resumed run checks the data against the checkpoint's digests"},
    OptionRule{"--seed", kSameAsCheckpoint, true, kEither, "", "the seed is the run's"},
    OptionRule{"--shards", kSameAsCheckpoint, true, kEither, "", "the shards are the run's"},
    OptionRule{"--out", kAllowed, true, kEither, "", ""},
    OptionRule{"--save-weights", kAllowed, false, kEither, "", "a sweep writes no weights (one run only)"},
    OptionRule{"--simd-target", kSameAsCheckpoint, true, kEither, "--sweep-simd", "a SIMD sweep sets the target of each run"},
    OptionRule{"--list-targets", kAllowed, true, kEither, "", ""},
    OptionRule{"--quiet", kAllowed, true, kEither, "", ""},
    OptionRule{"--dry-run", kAllowed, true, kEither, "", ""},
    OptionRule{"--checkpoint", kAllowed, false, kEither, "", "each run of a sweep saves its checkpoint beside its log"},
    OptionRule{"--checkpoint-every", kAllowed, true, kEither, "", ""},
    OptionRule{"--resume", kAllowed, false, kEither, "", "a checkpoint continues one run; a sweep starts new ones"},
    OptionRule{"--force", kAllowed, true, kEither, "", ""},
    OptionRule{"--distributed", kAllowed, false, kEither, "", "every rank would run the whole sweep"},
    OptionRule{"--reduction", kSameAsCheckpoint, true, kOnly, "", "how ranks combine their gradients"},
    OptionRule{"--batch-size-per-rank", kForbidden, true, kOnly, "--batch-size", "weak scaling: the global batch is N x ranks, fixed when the run started; give it or --batch-size (strong scaling), not both; in one process use --batch-size"},
    OptionRule{"--warmup-epochs", kForbidden, true, kEither, "", "the batch size and the warmup come from the checkpoint"},
    OptionRule{"--sweep-batch-size", kForbidden, true, kNever, "", "a sweep starts new runs, one after another, in one process"},
    OptionRule{"--lr-scaling", kForbidden, true, kEither, "", "the checkpoint holds the scaled rate and its rule"},
    OptionRule{"--sweep-threads", kForbidden, true, kNever, "", "a sweep starts new runs, one after another, in one process"},
    OptionRule{"--sweep-simd", kForbidden, true, kNever, "", "a sweep starts new runs, one after another, in one process"},
    OptionRule{"--sweep-repeats", kForbidden, true, kNever, "", "a sweep starts new runs, one after another, in one process"},
    OptionRule{"--help", kAllowed, true, kEither, "", ""},
    OptionRule{"--version", kAllowed, true, kEither, "", ""},
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
