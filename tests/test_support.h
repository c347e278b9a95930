#pragma once
// Shared helpers for the tests: temporary folders, small IDX files, running the CLI.
#include <catch2/catch.hpp>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mlpbench/dataset.h"
#include "mlpbench/experiment.h"
#include "mlpbench/kernels.h"
#include "mlpbench/tensor.h"
#include "mlpbench/trainer.h"

// A failed check prints a json through dump_json (not nlohmann's operator<<, which would
// compile the printer in every test file).
namespace Catch {
template <>
struct StringMaker<nlohmann::json> {
  static std::string convert(const nlohmann::json& j);
};
}  // namespace Catch

namespace test_support {

// JSON in and out, compiled once in test_support.cc: every file that calls nlohmann's parse()
// or dump() (or prints a json in a failed check) compiles them again, seconds each under the
// sanitizers.
nlohmann::json parse_json(const std::string& text);
std::string dump_json(const nlohmann::json& j, int indent = -1);

// A fresh, empty folder, removed at process exit.
std::string temp_dir();

void write_file(const std::string& path, const std::string& bytes);
void write_file(const std::string& path, const std::vector<uint8_t>& bytes);
std::string read_file(const std::string& path);

// An IDX file of unsigned bytes with the given dimensions (big-endian header, type 0x08).
std::vector<uint8_t> make_idx(const std::vector<uint32_t>& dims, const std::vector<uint8_t>& data);
std::vector<uint8_t> gzip(const std::vector<uint8_t>& raw);

// Writes a tiny MNIST-shaped dataset (train and test; images are noisy class-dependent
// patterns a network can learn) under <dir>/mnist/, as the real files are laid out.
void write_tiny_mnist(const std::string& dir, size_t train, size_t test, size_t side = 28);

// Two run logs have the same epochs with bitwise the same losses and accuracies.
void require_same_epoch_numbers(const nlohmann::json& a, const nlohmann::json& b);

// The small experiment the CLI and fault tests run on the tiny dataset: 24 hidden units, a
// softmax output, batch 32, 2 threads; written as an experiment file by write().
struct SmallExperiment {
  std::string name;
  int epochs = 2;
  std::string optimizer = "adam";
  double learning_rate = 0.001;
  std::string hidden = "relu";
  uint64_t seed = 3;
  void write(const std::string& path) const;
};

struct CommandResult {
  int exit_code = -1;
  std::string out, err;
};
// Runs a shell command line, capturing stdout and stderr.
CommandResult run(const std::string& command);

// The team size run_team() grants when asked for `threads` (OpenMP may grant fewer; a build
// without OpenMP always runs one thread).
int granted_threads(int threads);
// For tests that compare thread counts: true if `threads` are granted; otherwise a WARN says
// the comparison at that count is skipped (the "[threads]" test fails for it in an OpenMP
// build), so a skipped comparison is visible instead of passing silently.
bool team_of(int threads);

// The run_experiment binary and the source tree, as CMake configured them.
std::string run_experiment_path();
std::string source_dir();
// The real data folder ($MLPBENCH_DATA or <source>/data); empty if MNIST is not there.
std::string real_data_dir();

// Uniform random floats in [lo, hi).
mlpbench::FloatBuffer random_buffer(size_t n, std::mt19937& gen, float lo = -1, float hi = 1);

// Whether the active target's kernels fuse multiply-adds, asked of the GEMM itself rather than
// of a list of target names (a newer Highway adds targets). Kernels on fusing targets must match
// their scalar twins (std::fma, same order) exactly; the others within a tolerance.
bool fuses_multiply_add();

// Runs `body(target)` once per compiled and supported SIMD target, as a Catch2 section each.
template <class Body>
void for_each_target(const Body& body) {
  for (const std::string& target : mlpbench::kernels::supported_targets()) {
    DYNAMIC_SECTION(target) {
      REQUIRE(mlpbench::kernels::select_simd_target(target));
      REQUIRE(mlpbench::kernels::active_target() == target);
      body(target);
      mlpbench::kernels::select_simd_target("");
    }
  }
}

// A tiny MNIST-shaped dataset, made once per process: 530 training samples (batches of 32 end
// with a partial one) and 120 test samples.
struct TinyData {
  mlpbench::Dataset train, test;
};
const TinyData& tiny_data();

// What training on tiny_data() computed: the per-epoch numbers and the final parameters.
struct TrainOutcome {
  std::vector<mlpbench::EpochResult> history;
  std::vector<float> params;
};
TrainOutcome train_tiny(const mlpbench::Experiment& e, int threads);
// Bitwise the same per-epoch losses and accuracies, and the same parameters.
bool same_numbers(const TrainOutcome& a, const TrainOutcome& b);

}  // namespace test_support
