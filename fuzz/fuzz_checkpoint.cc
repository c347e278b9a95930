// Fuzz target: the checkpoint reader (parse_checkpoint, check_resumable).
//
// Each input is used two ways:
//   1. as a checkpoint file as it is (its checksums must match, so most mutations stop there);
//   2. resealed: if it parses as safetensors and its mlpbench.checkpoint metadata is JSON, the
//      harness rewrites it with correct crc32s (encode_checkpoint), so that the validation of
//      every field behind the checksums is fuzzed too.
// ConfigError is the expected way to reject input; anything else is a finding: another
// exception type, a crash, a sanitizer report, a hang, or an accepted checkpoint that breaks
// one of the invariants checked below.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz_common.h"
#include "mlpbench/checkpoint.h"
#include "mlpbench/errors.h"
#include "mlpbench/json_errors.h"
#include "mlpbench/weights.h"

namespace {

constexpr const char* kTarget = "fuzz_checkpoint";
using mlpbench_fuzz::finding;

void expect(bool ok, const char* what) {
  if (!ok) finding(kTarget, "accepted checkpoint", what);
}

// What parse_checkpoint() and check_resumable() accepted must be safe to resume from.
void check_accepted(const mlpbench::Checkpoint& c) {
  const mlpbench::TrainState& s = c.state;
  expect(s.epoch >= 0 && s.epoch <= c.experiment.epochs, "epoch outside the run");
  expect(s.history.size() == static_cast<size_t>(s.epoch), "history length differs from epoch");
  std::vector<bool> seen(s.order.size(), false);
  for (uint32_t k : s.order) {
    expect(k < s.order.size() && !seen[k], "order is not a permutation");
    seen[k] = true;
  }
  expect(s.correct <= s.seen, "more correct than seen");
  for (const size_t n : {s.order.size(), size_t{1}, size_t{1000}}) {
    if (n == 0) continue;
    try {
      mlpbench::check_resumable(c, n);
      const size_t b = static_cast<size_t>(c.experiment.batch_size);
      expect(s.step <= (n + b - 1) / b, "step beyond the epoch");
      expect(s.step == 0 || s.order.size() == n, "order length differs from the training set");
    } catch (const mlpbench::ConfigError&) {
    }
  }
}

void try_parse(std::string bytes) {
  try {
    check_accepted(mlpbench::parse_checkpoint(std::move(bytes), "fuzz.ckpt"));
  } catch (const mlpbench::ConfigError&) {
  }
}

void try_resealed(const uint8_t* data, size_t size) {
  mlpbench::SafetensorsFile f;
  nlohmann::json meta;
  try {
    f = mlpbench::parse_safetensors(std::string(reinterpret_cast<const char*>(data), size), "fuzz");
    const auto it = f.metadata.find("mlpbench.checkpoint");
    if (it == f.metadata.end()) return;
    meta = mlpbench::JsonChecker{"fuzz"}.parse(it->second, 64, "JSON");  // as the loader reads it
  } catch (const std::exception&) {
    return;  // not safetensors with JSON metadata: case 1 covered it
  }
  std::vector<mlpbench::TensorView> tensors;
  for (const auto& [name, t] : f.tensors) tensors.push_back(t);
  try_parse(mlpbench::encode_checkpoint(meta, tensors));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  mlpbench_fuzz::guarded(kTarget, [&] {
    try_parse(std::string(reinterpret_cast<const char*>(data), size));
    try_resealed(data, size);
  });
  return 0;
}
