#pragma once
// Command-line pieces shared by the programs that train an experiment (run_experiment and the
// libtorch peer), so that the same option reads and fails the same way in both. Needs CLI11.
#include <CLI/CLI.hpp>

#include <cctype>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "mlpbench/errors.h"
#include "mlpbench/kernels.h"
#include "mlpbench/option_table.h"

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
        if (digits_only && ec == std::errc() && end == last && v >= lo && v <= hi) {
          text = std::to_string(v);  // CLI11 converts with base 0: "010" would be octal 8
          return "";
        }
        return "expected an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + note +
               ", got \"" + text + "\"";
      },
      "INT in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
}

// A comma-separated list of positive integers (T = int) or of names: a usage error naming the
// option otherwise. An empty item ("1,,2", "1,") is refused: it is usually a shell variable
// that expanded to nothing.
template <typename T>
std::vector<T> parse_list(const std::string& text, const std::string& option) {
  std::vector<T> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) throw CLI::ValidationError(option, "an empty item in \"" + text + "\"");
    if constexpr (std::is_same_v<T, int>) {
      long long v = 0;
      const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), v);
      if (ec == std::errc::result_out_of_range ||
          (ec == std::errc() && end == item.data() + item.size() && v > std::numeric_limits<int>::max())) {
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
  if (out.empty() || text.back() == ',') {
    throw CLI::ValidationError(option, out.empty() ? "expected a comma-separated list" : "an empty item in \"" + text + "\"");
  }
  return out;
}

// A row's help with "{targets}" replaced by this machine's supported SIMD targets.
inline std::string help_of(const OptionRule& row) {
  std::string help(row.help);
  const auto at = help.find("{targets}");
  if (at == std::string::npos) return help;
  std::string targets;
  for (const auto& t : kernels::supported_targets()) targets += (targets.empty() ? "" : ",") + t;
  return help.replace(at, std::string_view("{targets}").size(), targets);
}

// `row`'s option bound to `field` (a flag for bool, a list for std::vector, else a value), with
// the row's help and its range or choices.
template <class T>
CLI::Option* add_table_option(CLI::App& app, const OptionRule& row, T& field) {
  const std::string name(row.name);
  CLI::Option* opt = nullptr;
  if constexpr (std::is_same_v<T, bool>) {
    opt = app.add_flag(name, field, help_of(row));
  } else if constexpr (std::is_same_v<T, std::vector<int>> || std::is_same_v<T, std::vector<std::string>>) {
    opt = app.add_option_function<std::string>(
        name, [&field, name](const std::string& text) { field = parse_list<typename T::value_type>(text, name); },
        help_of(row));
  } else {
    opt = app.add_option(name, field, help_of(row));
  }
  if constexpr (std::is_same_v<T, std::string>) {  // "" would silently mean "not given"
    opt->check(CLI::Validator([](std::string& text) { return text.empty() ? std::string("an empty value") : std::string(); },
                              "", "NONEMPTY"));
  }
  if constexpr (std::is_same_v<T, bool>) opt->multi_option_policy(CLI::MultiOptionPolicy::Throw);
  if (row.range.hi > 0) opt->transform(integer_in(row.range.lo, row.range.hi, std::string(row.range.note)));
  if (row.choices) opt->check(CLI::IsMember(row.choices()));
  return opt;
}

// The options of what to train on and for how long, as run_experiment declares them, bound to
// the program's own fields (a limit is size_t or std::optional<size_t>; `max_samples` is the
// program's largest limit).
template <class Limit>
void add_run_length_options(CLI::App& app, std::optional<int>& epochs, std::optional<int>& batch_size,
                            Limit& train_limit, Limit& test_limit, uint64_t max_samples,
                            std::string& data_dir) {
  const auto row = [max_samples](std::string_view name) {
    OptionRule r = *option_rule(name);
    if (r.range.hi == kMaxSamples) r.range.hi = max_samples;
    return r;
  };
  add_table_option(app, row("--epochs"), epochs);
  add_table_option(app, row("--batch-size"), batch_size);
  add_table_option(app, row("--train-limit"), train_limit);
  add_table_option(app, row("--test-limit"), test_limit);
  add_table_option(app, row("--data-dir"), data_dir);
}

// A usage error in words: CLI11 words an option given twice as a count ("At Most 1 required
// but received 2").
inline std::string usage_error_text(const CLI::ParseError& e) {
  std::string what = e.what();
  const auto twice = what.find("At Most 1 required but received");
  if (twice != std::string::npos) what = what.substr(0, twice) + "given more than once";
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
