// step_phases: where one training step's time goes, phase by phase and thread by thread.
// Usage: step_phases [threads] [A|B]   (A = 784-512-10, B = 784-64-32-10; batch 32)
// Replays train_step's schedule (step.h) with a clock around each phase, on random data: an
// MNIST-sized byte dataset whose random rows are gathered as the trainer gathers them.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "mlpbench/kernels.h"
#include "mlpbench/model.h"
#include "mlpbench/optimizer.h"
#include "mlpbench/tensor.h"

using namespace mlpbench;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kBatch = 32, kSamples = 60000, kInputs = 784;
constexpr int kSteps = 3000;

enum Phase { kForward0, kOwnWork, kWait, kBackward0, kPhases };
const char* const kPhaseNames[kPhases] = {"layer-0 forward", "head or gather", "wait",
                                          "layer-0 backward+update"};

}  // namespace

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const bool model_a = argc > 2 && std::string(argv[2]) == "A";
  const std::vector<LayerSpec> specs = model_a
      ? std::vector<LayerSpec>{{512, "relu"}, {10, "softmax"}}
      : std::vector<LayerSpec>{{64, "relu"}, {32, "relu"}, {10, "softmax"}};
  Mlp model(kInputs, specs);
  model.init_glorot(1);
  Optimizer optimizer(OptimizerSpec{}, model.params().size());
  Workspace ws(model, kBatch, /*double_buffered=*/true);
  const Layers first{0, 1}, above{1, model.layers().size()};

  std::mt19937 gen(1);
  AlignedBuffer<uint8_t> pixels(kSamples * kInputs);
  for (auto& p : pixels) p = static_cast<uint8_t>(gen() % 256);
  std::vector<uint32_t> order(kSamples);
  for (auto& i : order) i = static_cast<uint32_t>(gen() % kSamples);
  auto gather = [&](int step, kernels::Part part) {
    const Batch b = ws.batch(static_cast<size_t>(step));
    const uint32_t* rows = order.data() + static_cast<size_t>(step) * kBatch % kSamples;
    kernels::gather_pixels(pixels.data(), kInputs, rows, kBatch, b.input, part, threads > 1);
    for (size_t i = part.begin(kBatch); i < part.end(kBatch); ++i) b.labels[i] = rows[i] % 10;
  };

  std::vector<std::vector<double>> seconds(threads, std::vector<double>(kPhases));
  run_team(threads, [&](Team& team) {
    const kernels::Part part = team.part();
    std::vector<double>& mine = seconds[part.index];
    gather(0, part);
    team.sync();
    for (int step = 0; step < kSteps; ++step) {
      const Batch batch = ws.batch(static_cast<size_t>(step));
      Clock::time_point t[kPhases + 1];
      t[0] = Clock::now();
      forward_layers(model, ws, batch.input, kBatch, first, team);
      t[1] = Clock::now();
      if (team.leader()) {  // the head
        const Team alone(kernels::Part{0, 1});
        transpose_kernels(model, ws, alone);
        forward_layers(model, ws, batch.input, kBatch, above, alone);
        loss_and_delta(model, ws, batch.labels, kBatch, true, alone);
        backward_and_update_layers(model, ws, batch.input, kBatch, above, optimizer, step + 1,
                                   alone);
      }
      if (part.count == 1) {
        gather(step + 1, part);
      } else if (!team.leader()) {
        gather(step + 1, {part.index - 1, part.count - 1});
      }
      t[2] = Clock::now();
      team.sync();
      t[3] = Clock::now();
      backward_and_update_layers(model, ws, batch.input, kBatch, first, optimizer, step + 1,
                                 team);
      t[4] = Clock::now();
      for (int p = 0; p < kPhases; ++p) {
        mine[p] += std::chrono::duration<double>(t[p + 1] - t[p]).count();
      }
    }
  });
  std::printf("model %s, %d thread(s), us per step (thread 0 is the head)\n",
              model_a ? "A" : "B", threads);
  for (int t = 0; t < threads; ++t) {
    double total = 0;
    std::printf("  thread %d:", t);
    for (int p = 0; p < kPhases; ++p) {
      std::printf("  %s %.1f", kPhaseNames[p], seconds[t][p] / kSteps * 1e6);
      total += seconds[t][p];
    }
    std::printf("  | step %.1f\n", total / kSteps * 1e6);
  }
}
