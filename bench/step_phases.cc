// step_phases: where one training step's time goes, phase by phase, on the leader's clock.
// Usage: step_phases [threads] [A|B]   (A = 784-512-10, B = 784-64-32-10; batch 32, random data)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "mlpbench/model.h"
#include "mlpbench/optimizer.h"

using namespace mlpbench;
using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  const int threads = argc > 1 ? std::atoi(argv[1]) : 2;
  const bool model_a = argc > 2 && std::string(argv[2]) == "A";
  const std::vector<LayerSpec> specs = model_a
      ? std::vector<LayerSpec>{{512, "relu"}, {10, "softmax"}}
      : std::vector<LayerSpec>{{64, "relu"}, {32, "relu"}, {10, "softmax"}};
  constexpr size_t kBatch = 32;
  constexpr int kSteps = 3000;
  Mlp model(784, specs);
  model.init_glorot(1);
  Optimizer optimizer(OptimizerSpec{}, model.params().size());
  Workspace ws(model, kBatch);
  for (size_t i = 0; i < ws.input.size(); ++i) ws.input[i] = static_cast<float>(i % 255) / 255.0f;
  for (size_t i = 0; i < kBatch; ++i) ws.labels[i] = static_cast<uint8_t>(i % 10);

  const char* names[] = {"transpose", "forward", "loss", "backward+update"};
  double seconds[4] = {};
  run_team(threads, [&](Team& team) {
    for (int step = 0; step < kSteps; ++step) {
      Clock::time_point t[5];
      t[0] = Clock::now();
      transpose_kernels(model, ws, team);
      t[1] = Clock::now();
      forward(model, ws, kBatch, team);
      t[2] = Clock::now();
      loss_and_delta(model, ws, kBatch, true, team);
      t[3] = Clock::now();
      backward_and_update(model, ws, kBatch, optimizer, step + 1, team);
      t[4] = Clock::now();
      if (team.leader()) {
        for (int p = 0; p < 4; ++p) seconds[p] += std::chrono::duration<double>(t[p + 1] - t[p]).count();
      }
    }
  });
  std::printf("model %s, %d thread(s), us per step:", model_a ? "A" : "B", threads);
  for (int p = 0; p < 4; ++p) std::printf("  %s %.1f", names[p], seconds[p] / kSteps * 1e6);
  std::printf("\n");
}
