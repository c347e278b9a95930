// step_phases: where one training step's time goes, phase by phase and thread by thread.
// Usage: step_phases [THREADS] [A|B] [--batch N] [--steps N] [--shards S] [--mnist DATA_DIR]
//        (A = 784-512-10, B = 784-64-32-10; batch 32 unless --batch)
// Runs train_step (step.h) with a clock at each of its StepPoints, on an MNIST-sized byte
// dataset of random bytes (or MNIST's training set with --mnist) whose random rows are gathered
// as the trainer gathers them; with --shards as the trainer sets them up.
#include <CLI/CLI.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

// bench/CMakeLists.txt gives step_phases the engine's public headers only; cli_options.h is
// header-only (run_experiment's checks of integers and of empty values).
#include "../engine/apps/include/mlpbench/cli_options.h"
#include "mlpbench/dataset.h"
#include "mlpbench/errors.h"
#include "mlpbench/kernels.h"
#include "mlpbench/model.h"
#include "mlpbench/optimizer.h"
#include "mlpbench/step.h"
#include "mlpbench/tensor.h"

using namespace mlpbench;
using enum Activation;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kSamples = 60000, kInputs = 784;

enum Phase { kForward0, kOwnWork, kWait, kBackward0, kPhases };
const char* const kPhaseNames[kPhases] = {"layer-0 forward", "upper layers or gather", "wait",
                                          "layer-0 backward+update"};
// Phase p ends at StepPoint p.
static_assert(static_cast<int>(StepPoint::kUpdateDone) + 1 == kPhases);

// An integer option read as decimal digits only, from `lo` to `hi` (run_experiment's check):
// CLI11's own conversion reads "010" as octal 8 and "0x10" as 16, and takes " 5".
CLI::Option* add_integer(CLI::App& app, const std::string& name, int& field, uint64_t lo, uint64_t hi,
                         const std::string& help) {
  const auto store = [&field](const std::string& text) { field = std::stoi(text); };
  return app.add_option_function<std::string>(name, store, help)
      ->type_name("INT")
      ->check(cli::integer_in(lo, hi));
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 2, steps = 3000, shards = 1, batch_option = 32;
  std::string mnist_dir;
  std::string which = "B";
  CLI::App app{"Times one training step (batch 32, or --batch) phase by phase and thread by "
               "thread, on random MNIST-sized data (or MNIST, --mnist); prints microseconds per step "
               "(docs/benchmarks.md).\n\n"
               "Exit status: 0 success; 2 bad command line; 3 --mnist data missing, corrupt or smaller "
               "than a batch.",
               "step_phases"};
  add_integer(app, "threads", threads, 1, 1024, "Threads of the team (default 2)");
  app.add_option("model", which, "A = 784-512-10, B = 784-64-32-10 (default B)")
      ->check(CLI::IsMember({"A", "B"}));
  add_integer(app, "--batch", batch_option, 1, 4096, "Batch size (default 32)");
  add_integer(app, "--steps", steps, 1, 1000000, "Steps to time (default 3000)");
  add_integer(app, "--shards", shards, 1, 32,
              "Micro-shards per batch, a power of two (default 1; see docs/experiment.md)")
      ->check(CLI::IsMember(std::vector<std::string>{"1", "2", "4", "8", "16", "32"}));
  cli::add_table_option(app,  // refuses "", which would silently mean random data
                        {.name = "--mnist", .help = "Train on MNIST's training set from this data folder "
                                                    "(e.g. data) instead of random bytes"},
                        mnist_dir);
  const auto check_shards = [&] {
    if (shards > batch_option) {  // as an experiment's `shards` (docs/experiment.md)
      throw CLI::ValidationError("--shards", std::to_string(shards) + " shards need a batch of at least as "
                                             "many rows (--batch is " + std::to_string(batch_option) + ")");
    }
  };
  if (const auto status = cli::parse_or_exit(app, argc, argv, check_shards, "step_phases: ")) return *status;
  const size_t batch = static_cast<size_t>(batch_option);
  const bool model_a = which == "A";
  const std::vector<LayerSpec> specs = model_a
      ? std::vector<LayerSpec>{{512, kRelu}, {10, kSoftmax}}
      : std::vector<LayerSpec>{{64, kRelu}, {32, kRelu}, {10, kSoftmax}};
  Mlp model(kInputs, specs);
  model.init_glorot(1);
  Optimizer optimizer(OptimizerSpec{}, model.params().size());
  Workspace ws(model, batch, /*double_buffered=*/true);
  if (shards > 1) ws.shard_bounds = shard_bounds(batch, batch, static_cast<size_t>(shards));  // as Trainer::run

  std::mt19937 gen(1);
  Dataset data;
  if (!mnist_dir.empty()) {
    try {
      data = load_dataset(mnist_dir, "mnist", "train", kSamples);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "step_phases: error: %s\n", e.what());
      return kExitData;
    }
  } else {
    data.pixels = AlignedBuffer<uint8_t>(kSamples * kInputs);
    for (auto& p : data.pixels) p = static_cast<uint8_t>(gen() % 256);
    data.labels.resize(kSamples);
    for (auto& l : data.labels) l = static_cast<uint8_t>(gen() % 10);
  }
  const uint8_t* pixels = data.pixels.data();
  if (data.size() < batch) {
    std::fprintf(stderr, "step_phases: error: %s: %zu training samples, fewer than a batch (%zu)\n",
                 data.images_path.c_str(), data.size(), batch);
    return kExitData;
  }
  std::vector<uint32_t> order(kSamples / batch * batch);  // whole batches: steps wrap around it
  for (auto& i : order) i = static_cast<uint32_t>(gen() % data.size());
  auto gather = [&](int step, kernels::Part part) {
    const Batch b = ws.batch(static_cast<size_t>(step));
    const uint32_t* rows = order.data() + static_cast<size_t>(step) * batch % order.size();
    kernels::gather_pixels(pixels, kInputs, rows, batch, b.input, part, threads > 1);
    for (size_t i = part.begin(batch); i < part.end(batch); ++i) b.labels[i] = data.labels[rows[i]];
  };

  std::vector<std::vector<double>> seconds(threads, std::vector<double>(kPhases));
  // Each step's phases and total, per thread, for the medians: the host's slow steps (a tail of
  // +10 % or more on shared machines) move the means, not the medians. Every `stride`-th step
  // only, so that many threads times many steps stay within ~80 MB.
  using Sample = std::array<float, kPhases + 1>;
  constexpr size_t kMaxSamples = size_t{1} << 22;
  const size_t all_samples = static_cast<size_t>(threads) * static_cast<size_t>(steps);
  const size_t stride = (all_samples + kMaxSamples - 1) / kMaxSamples;
  const size_t kept = (static_cast<size_t>(steps) + stride - 1) / stride;
  std::vector<std::vector<Sample>> samples(threads);
  int granted = 0;  // OpenMP may grant fewer threads than asked
  run_team(threads, [&](Team& team) {
    const kernels::Part part = team.part();
    if (team.leader()) granted = part.count;
    std::vector<double>& mine = seconds[part.index];
    std::vector<Sample>& my_samples = samples[part.index];
    my_samples.resize(kept);
    Clock::time_point t[kPhases + 1];
    int step = 0;
    StepHooks hooks;
    hooks.prepare_next = [&](kernels::Part share) { gather(step + 1, share); };
    hooks.at = [&](StepPoint point) { t[static_cast<int>(point) + 1] = Clock::now(); };
    gather(0, part);
    team.sync();
    for (; step < steps; ++step) {
      t[0] = Clock::now();
      train_step(model, ws, ws.batch(static_cast<size_t>(step)), batch, optimizer,
                 static_cast<uint64_t>(step) + 1, team, hooks);
      const bool kept_step = static_cast<size_t>(step) % stride == 0;
      Sample* sample = kept_step ? &my_samples[static_cast<size_t>(step) / stride] : nullptr;
      double total = 0;
      for (int p = 0; p < kPhases; ++p) {
        const double s = std::chrono::duration<double>(t[p + 1] - t[p]).count();
        mine[p] += s;
        total += s;
        if (sample) (*sample)[p] = static_cast<float>(s * 1e6);
      }
      if (sample) (*sample)[kPhases] = static_cast<float>(total * 1e6);
    }
  });
  std::printf("model %s, batch %zu, %d thread(s), %d shard(s), us per step (thread 0, the leader, "
              "runs the upper layers)\n", which.c_str(), batch, granted, shards);
  for (int t = 0; t < granted; ++t) {
    double total = 0;
    std::printf("  thread %d:", t);
    for (int p = 0; p < kPhases; ++p) {
      std::printf("  %s %.1f", kPhaseNames[p], seconds[t][p] / steps * 1e6);
      total += seconds[t][p];
    }
    std::printf("  | step %.1f\n", total / steps * 1e6);
  }
  const std::string one_in = stride > 1 ? " of one step in " + std::to_string(stride) : "";
  std::printf("medians%s (the means above include the host's slow steps; medians need not add "
              "up):\n", one_in.c_str());
  for (int t = 0; t < granted; ++t) {
    std::vector<float> column(kept);
    auto quantile = [&](int p, double q) {
      for (size_t i = 0; i < column.size(); ++i) column[i] = samples[t][i][p];
      const size_t rank = static_cast<size_t>(q * static_cast<double>(column.size() - 1));
      std::nth_element(column.begin(), column.begin() + rank, column.end());
      return column[rank];
    };
    std::printf("  thread %d:", t);
    for (int p = 0; p < kPhases; ++p) std::printf("  %s %.1f", kPhaseNames[p], quantile(p, 0.5));
    std::printf("  | step %.1f (p10 %.1f, p90 %.1f)\n", quantile(kPhases, 0.5),
                quantile(kPhases, 0.1), quantile(kPhases, 0.9));
  }
}
