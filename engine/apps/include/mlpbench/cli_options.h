#pragma once
// Command-line pieces shared by the programs that train an experiment (run_experiment and the
// libtorch peer), so that the same option reads and fails the same way in both. Needs CLI11.
#include <CLI/CLI.hpp>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <optional>
#include <string>

#include "mlpbench/errors.h"

namespace mlpbench::cli {

// Integer options are CLI11's typed options, with this check of their text first: digits only
// (no sign, no fraction, no exponent, no space) from `lo` to `hi`, else a usage error naming the
// option and its range. CLI11's own conversion is not that strict: 2.1.2 takes "+5" and " 5",
// and turns "-5" into 18446744073709551611 for an unsigned option. A value such as "-5" reaches
// the check (CLI11 reads it as a value where no option of that name exists).
inline CLI::Validator integer_in(uint64_t lo, uint64_t hi, const std::string& note = "") {
  return CLI::Validator(
      [lo, hi, note](std::string& text) -> std::string {
        uint64_t v = 0;
        const char* first = text.data();
        const char* last = first + text.size();
        const auto [end, ec] = std::from_chars(first, last, v);
        const bool digits_only = !text.empty() && std::isdigit(static_cast<unsigned char>(text[0]));
        if (digits_only && ec == std::errc() && end == last && v >= lo && v <= hi) return "";
        return "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + note +
               ", got \"" + text + "\"";
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

// The options of what to train on and for how long, bound to the program's own fields (a limit
// is size_t or std::optional<size_t>; `max_samples` is the program's largest limit).
template <class Limit>
void add_run_length_options(CLI::App& app, std::optional<int>& epochs, std::optional<int>& batch_size,
                            Limit& train_limit, Limit& test_limit, uint64_t max_samples,
                            std::string& data_dir) {
  app.add_option("--epochs", epochs, "Override the experiment's epochs (1 to 100000)")->check(integer_in(1, 100000));
  app.add_option("--batch-size", batch_size, "Override the experiment's batch size (1 to 65536)")
      ->check(integer_in(1, 65536));
  app.add_option("--train-limit", train_limit, "Use only the first N training samples (0, the default, = all)")
      ->check(integer_in(0, max_samples, " (0 = all)"));
  app.add_option("--test-limit", test_limit, "Use only the first N test samples (0, the default, = all)")
      ->check(integer_in(0, max_samples, " (0 = all)"));
  app.add_option("--data-dir", data_dir, "Where datasets live (default: $MLPBENCH_DATA, else data/ in the checkout holding the current folder)");
}

// A usage error in words: CLI11 words an option given twice as a count ("At Most 1 required
// but received 2").
inline std::string usage_error_text(const CLI::ParseError& e) {
  std::string what = e.what();
  const auto twice = what.find("At Most 1 required but received");
  if (twice != std::string::npos) what = what.substr(0, twice) + "given more than once (it takes one value)";
  return what;
}

// Parses the command line, then `convert` (the program's own checks and conversions, which may
// throw CLI errors). Returns the exit status when the program ends here: 0 after --help or
// --version, kExitUsage after a usage error (printed to stderr after `prefix`); else nothing.
inline std::optional<int> parse_or_exit(CLI::App& app, int argc, char** argv,
                                        const std::function<void()>& convert, const char* prefix) {
  try {
    app.parse(argc, argv);
    convert();
  } catch (const CLI::CallForHelp&) {
    std::printf("%s", app.help().c_str());
    return 0;
  } catch (const CLI::CallForVersion&) {
    std::printf("%s\n", app.version().c_str());
    return 0;
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "%serror: %s\nRun with --help for the options.\n", prefix,
                 usage_error_text(e).c_str());
    return kExitUsage;
  }
  return std::nullopt;
}

}  // namespace mlpbench::cli
