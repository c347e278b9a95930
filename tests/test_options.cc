// run_experiment's option table (engine/include/mlpbench/option_table.h): every option against
// every mode on the real binary, --help and docs/cli.md against the table.
#include <catch2/catch.hpp>

#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "mlpbench/option_table.h"
#include "test_support.h"

namespace test_options {

using mlpbench::cli::kRunExperimentOptions;
using mlpbench::cli::OptionRule;
using test_support::run;

namespace {

namespace cli = mlpbench::cli;

// The default SIMD target, as `run_experiment --list-targets` names it.
std::string default_target() {
  const auto r = run("timeout 60 " + test_support::run_experiment_path() + " --list-targets");
  REQUIRE(r.exit_code == 0);
  const auto at = r.out.find("default:");
  REQUIRE(at != std::string::npos);
  std::string line = r.out.substr(at + 8, r.out.find('\n', at) - at - 8);
  line.erase(0, line.find_first_not_of(' '));
  return line;
}

// A small experiment, its data (found through $MLPBENCH_DATA, so that --data-dir is free to be
// the option under test) and a checkpoint of it.
struct Fixture {
  std::string dir = test_support::temp_dir();
  std::string experiment = dir + "/exp.json", checkpoint = dir + "/run.ckpt";
  std::string target = default_target();
  Fixture() {
    test_support::write_tiny_mnist(dir + "/data", 200, 50);
    test_support::SmallExperiment{"options", 2, "adam", 0.001, "relu", 3}.write(experiment);
    const auto r = run("MLPBENCH_FAULT_SIGNAL=INT@2 " + engine(experiment + " --train-limit 150 --test-limit 40 --out " +
                                                           dir + "/run.json --checkpoint " + checkpoint));
    INFO(r.err);
    REQUIRE(r.exit_code == 130);
  }
  std::string engine(const std::string& args) const {
    return "MLPBENCH_DATA=" + dir + "/data timeout 60 " + test_support::run_experiment_path() + " " + args;
  }
  // A valid value for every option (what the checkpoint's run used where it must be the same).
  // An option without one fails the walk: a new option needs its value here, and so its walk.
  std::string given(std::string_view option) const {
    const std::map<std::string_view, std::string> values = {
        {"experiment", experiment},
        {"--threads", "--threads 1"},
        {"--epochs", "--epochs 3"},
        {"--batch-size", "--batch-size 32"},
        {"--train-limit", "--train-limit 150"},
        {"--test-limit", "--test-limit 40"},
        {"--data-dir", "--data-dir " + dir + "/data"},
        {"--seed", "--seed 3"},
        {"--shards", "--shards 1"},
        {"--out", "--out " + dir + "/walk"},  // a log file, or a sweep's folder (a sweep refuses .json)
        {"--save-weights", "--save-weights " + dir + "/walk.safetensors"},
        {"--simd-target", "--simd-target " + target},
        {"--list-targets", "--list-targets"},
        {"--quiet", "--quiet"},
        {"--dry-run", ""},  // every walk's command has it
        {"--checkpoint", "--checkpoint " + dir + "/walk.ckpt"},
        {"--checkpoint-every", "--checkpoint-every 1"},
        {"--resume", "--resume " + checkpoint},
        {"--force", "--force"},
        {"--distributed", "--distributed"},
        {"--reduction", "--reduction tree"},
        {"--batch-size-per-rank", "--batch-size-per-rank 16"},
        {"--warmup-epochs", "--warmup-epochs 1 --lr-scaling linear"},
        {"--sweep-batch-size", "--sweep-batch-size 32"},
        {"--lr-scaling", "--lr-scaling linear"},
        {"--sweep-threads", "--sweep-threads 1"},
        {"--sweep-simd", "--sweep-simd " + target},
        {"--sweep-repeats", "--sweep-repeats 1"},
    };
    const auto it = values.find(option);
    if (it == values.end()) FAIL("tests/test_options.cc has no value for " << option << ": add one");
    return it->second;
  }
};

// The modes an option is walked against: what is added to the command line, and whether the
// table refuses the option there (worked out from the row's fields, not by the engine's check).
struct Mode {
  std::string name, args;
  bool refused;
};

std::vector<Mode> modes_for(const OptionRule& r, const Fixture& f) {
  const bool required = r.with_distributed == cli::kOnly;
  // A sweep other than the option itself, for sweep options.
  const std::string sweep = r.name == "--sweep-threads" ? "--sweep-batch-size" : "--sweep-threads";
  std::vector<Mode> modes = {
      {"alone", "", required},
      {"--resume", f.given("--resume"), r.on_resume == cli::kForbidden || required},
      {"a sweep (" + sweep + ")", f.given(sweep), !r.with_sweep || r.not_with == sweep || required},
      {"--distributed", "--distributed", r.with_distributed == cli::kNever},
  };
  // The option that sets the same thing (with --distributed, so that kOnly rows get that far).
  if (!r.not_with.empty()) modes.push_back({std::string(r.not_with), f.given(r.not_with) + " --distributed", true});
  return modes;
}

}  // namespace

TEST_CASE("options: every option against every mode, as the table says", "[cli][options]") {
  Fixture f;
  for (const OptionRule& r : kRunExperimentOptions) {
    // --help and --version end the program as CLI11 reads them, before any combination.
    if (r.name == "--help" || r.name == "--version") continue;
    for (const Mode& m : modes_for(r, f)) {
      if (r.name == "--resume" && m.name == "--resume") continue;  // the mode itself
      if (r.name == "--distributed" && m.name == "--distributed") continue;
      const bool resuming = r.name == "--resume" || m.name == "--resume";
      // A resumed run takes its experiment from the checkpoint; the positional is walked alone.
      const std::string experiment = resuming && r.name != "experiment" ? "" : f.experiment + " ";
      const std::string option = r.name == "experiment" ? "" : f.given(r.name);
      const auto out = run(f.engine("--dry-run " + experiment + option + " " + m.args));
      INFO(r.name << " " << m.name << "\n" << out.err);
      if (m.refused) {
        CHECK(out.exit_code == 2);
        CHECK(out.err.find(r.name == "experiment" ? "--resume" : std::string(r.name)) != std::string::npos);
      } else {
        CHECK(out.exit_code == 0);
      }
      CHECK(out.err.find("terminate") == std::string::npos);
    }
  }
}

TEST_CASE("options: refusals name the option and the mode", "[cli][options]") {
  Fixture f;
  struct Case {
    std::string args, message;
  };
  const std::vector<Case> cases = {
      {"--resume " + f.checkpoint + " --sweep-batch-size 32,64", "--resume: not with a sweep (--sweep-batch-size)"},
      {f.experiment + " --distributed --sweep-batch-size 32,64", "--distributed: not with a sweep (--sweep-batch-size)"},
      {f.experiment + " --distributed --sweep-threads 1", "--distributed: not with a sweep (--sweep-threads)"},
      {f.experiment + " --threads 2 --sweep-threads 1,2", "--threads: not with --sweep-threads"},
      {f.experiment + " --batch-size 64 --sweep-batch-size 32", "--batch-size: not with --sweep-batch-size"},
      {f.experiment + " --simd-target " + f.target + " --sweep-simd all", "--simd-target: not with --sweep-simd"},
      {f.experiment + " --checkpoint " + f.dir + "/x.ckpt --sweep-threads 1", "--checkpoint: not with a sweep"},
      {f.experiment + " --save-weights " + f.dir + "/w --sweep-threads 1", "--save-weights: not with a sweep"},
      {"--resume " + f.checkpoint + " --lr-scaling sqrt", "--lr-scaling: not with --resume"},
      {"--resume " + f.checkpoint + " --warmup-epochs 1", "the batch size and the warmup come from the checkpoint"},
      {f.experiment + " --reduction mpi", "--reduction: only with --distributed"},
      {f.experiment + " --resume " + f.checkpoint, "--resume: takes the experiment from the checkpoint"},
  };
  for (const Case& c : cases) {
    // Not a dry run: the refusal comes before anything is read or written.
    const auto r = run(f.engine(c.args + " --out " + f.dir + "/refused"));
    INFO(c.args << "\n" << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(c.message) != std::string::npos);
    CHECK_FALSE(std::ifstream(f.dir + "/refused").good());
  }
}

TEST_CASE("options: --help lists exactly the table's options", "[cli][options]") {
  const auto r = run("timeout 60 " + test_support::run_experiment_path() + " --help");
  REQUIRE(r.exit_code == 0);
  std::set<std::string> listed;
  const std::regex option(R"(^\s+(?:-\w,\s*)?(--[a-z-]+))");
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_search(line, m, option)) listed.insert(m[1]);
  }
  std::set<std::string> table;
  for (const OptionRule& row : kRunExperimentOptions) {
    if (row.name != "experiment") table.insert(std::string(row.name));
  }
  CHECK(listed == table);
}

TEST_CASE("options: docs/cli.md's combination table is the option table", "[cli][options][docs]") {
  auto cell = [](const OptionRule& r, std::string_view mode) -> std::string {
    if (mode == "resume") {
      return r.on_resume == cli::kAllowed ? "yes" : r.on_resume == cli::kForbidden ? "no" : "only the checkpoint's value";
    }
    if (mode == "sweep") return r.with_sweep ? "yes" : "no";
    if (mode == "not with") return r.not_with.empty() ? "" : "`" + std::string(r.not_with) + "`";
    return r.with_distributed == cli::kEither ? "yes" : r.with_distributed == cli::kNever ? "no" : "required";
  };
  std::string expected;
  for (const OptionRule& r : kRunExperimentOptions) {
    const std::string name = r.name == "experiment" ? "`EXPERIMENT`" : "`" + std::string(r.name) + "`";
    expected += "| " + name + " | " + cell(r, "resume") + " | " + cell(r, "sweep") + " | " + cell(r, "distributed") + " | " +
                cell(r, "not with") + " | " + std::string(r.why) + " |\n";
  }
  std::ifstream in(test_support::source_dir() + "/docs/cli.md");
  std::string doc((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string header = "| option | with `--resume` | with a sweep | with `--distributed` | not with | why |\n| --- | --- | --- | --- | --- | --- |\n";
  const auto at = doc.find(header);
  REQUIRE(at != std::string::npos);
  const std::string rows = doc.substr(at + header.size(), expected.size());
  INFO("docs/cli.md's table should read:\n" << header << expected);
  CHECK(rows == expected);
  // The main table names every option too.
  for (const OptionRule& r : kRunExperimentOptions) {
    if (r.name != "experiment") CHECK(doc.find("`" + std::string(r.name)) != std::string::npos);
  }
}

}  // namespace test_options
