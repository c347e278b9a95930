// run_experiment: trains an experiment file and writes its run log (docs/cli.md).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <type_traits>
#include <variant>

#include "mlpbench/build_info.h"
#include "mlpbench/cli_options.h"
#include "mlpbench/errors.h"
#include "mlpbench/option_table.h"
#include "mlpbench/runner.h"

namespace {

namespace cli = mlpbench::cli;

// Every option of the table (option_table.h) on its RunOptions field; the program's own options
// (--list-targets, --version; CLI11 adds --help) at their rows.
void add_options(CLI::App& app, mlpbench::RunOptions& o, bool& list_targets) {
  for (const cli::OptionRule& row : cli::kRunExperimentOptions) {
    if (row.name == "--list-targets") {
      app.add_flag("--list-targets", list_targets, cli::help_of(row));
    } else if (row.name == "--version") {
      app.set_version_flag("--version", "run_experiment " + mlpbench::version() + " (" + mlpbench::git_commit() + ")");
    } else {
      std::visit(
          [&](auto field) {
            if constexpr (!std::is_same_v<decltype(field), std::monostate>) cli::add_table_option(app, row, o.*field);
          },
          row.field);
    }
  }
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
  bool list_targets = false;
  add_options(app, o, list_targets);
  // An option without a row in the table would escape the combination checks.
  for (const CLI::Option* opt : app.get_options()) {
    if (!mlpbench::cli::option_rule(opt->get_name())) {
      std::fprintf(stderr, "internal error: option %s has no row in engine/include/mlpbench/option_table.h\n",
                   opt->get_name().c_str());
      return mlpbench::kExitOther;
    }
  }

  const auto status = mlpbench::cli::parse_or_exit(app, argc, argv, [&] {
    if (!list_targets && o.experiment_path.empty() && o.resume.empty()) {
      throw CLI::RequiredError("experiment (or --resume CHECKPOINT)");
    }
    const std::string refused = mlpbench::cli::refused_combination([&](std::string_view name) {
      const CLI::Option* opt = app.get_option_no_throw(std::string(name));
      return opt && opt->count() > 0;
    });
    if (!refused.empty()) throw CLI::ValidationError(refused);
  }, "");
  if (status) return *status;
  if (list_targets) {
    mlpbench::print_targets();
    return 0;
  }
  return mlpbench::run(o);
}
