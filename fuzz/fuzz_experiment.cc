// Fuzz target: experiment files.
//
// Bytes are handed to parse_experiment() as the text of an experiment file. A ConfigError is the
// expected way to reject input; anything else is a finding: another exception type, a crash,
// a sanitizer report, a hang. An experiment that parses must also survive the round trips a run
// log relies on (to_json() -> parse_experiment() -> to_json(), as a JSON value and as text) and
// pass validate_experiment().
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_common.h"
#include "mlpbench/errors.h"
#include "mlpbench/experiment.h"
#include "mlpbench/json_errors.h"

namespace {

constexpr const char* kTarget = "fuzz_experiment";
constexpr const char* kSource = "fuzz.json";

using mlpbench_fuzz::finding;

// Every message must name the file first, as the run_experiment contract requires.
void check_message(const char* stage, const mlpbench::ConfigError& err, const std::string& source) {
  const std::string what = err.what();
  if (what.compare(0, source.size() + 2, source + ": ") != 0) {
    finding(kTarget, stage, ("ConfigError message does not start with the source name: " + what).c_str());
  }
}

// Parses a representation of an experiment that was accepted before: it must be accepted again.
template <typename Input>
mlpbench::Experiment reparse(const char* stage, const Input& input) {
  const std::string source = std::string(kSource) + " (" + stage + ")";
  try {
    return mlpbench::parse_experiment(input, source);
  } catch (const mlpbench::ConfigError& err) {
    finding(kTarget, stage, (std::string("to_json() output rejected: ") + err.what()).c_str());
  }
}

void check_round_trip(const mlpbench::Experiment& e) {
  const nlohmann::json resolved = e.to_json();

  try {
    mlpbench::validate_experiment(e, kSource);
  } catch (const mlpbench::ConfigError& err) {
    finding(kTarget, "validate_experiment", (std::string("rejects a parsed experiment: ") + err.what()).c_str());
  }

  // As a JSON value (what a run log embeds).
  const mlpbench::Experiment from_value = reparse("json value round trip", resolved);
  if (!(from_value == e)) finding(kTarget, "json value round trip", "parse(to_json()) != original");
  if (from_value.to_json() != resolved) {
    finding(kTarget, "json value round trip", "to_json() differs after a round trip");
  }

  // As text (what a run log file holds on disk).
  const std::string text = mlpbench::json_text_exact(resolved, 2);
  const mlpbench::Experiment from_text = reparse("text round trip", text);
  if (!(from_text == e)) finding(kTarget, "text round trip", "parse(to_json().dump()) != original");
  if (from_text.to_json() != resolved) {
    finding(kTarget, "text round trip", "to_json() differs after a round trip through text");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  mlpbench_fuzz::guarded(kTarget, [&] {
    mlpbench::Experiment e;
    try {
      e = mlpbench::parse_experiment(text, kSource);
    } catch (const mlpbench::ConfigError& err) {
      check_message("parse_experiment", err, kSource);
      return;
    }
    check_round_trip(e);
  });
  return 0;
}
