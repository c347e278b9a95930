#pragma once
// The training loop: per epoch, shuffle (seeded) -> batches -> forward -> loss -> backward ->
// optimizer step, then evaluation on the test set.
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <vector>

#include "mlpbench/dataset.h"
#include "mlpbench/experiment.h"
#include "mlpbench/model.h"
#include "mlpbench/optimizer.h"

namespace mlpbench {

struct EpochResult {
  int epoch = 0;  // from 1
  double train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0;
  double train_seconds = 0, eval_seconds = 0, samples_per_second = 0, gflops = 0;
  size_t steps = 0;
  // One round trip of the team's barrier just before the epoch's steps, in microseconds; NaN
  // for a team of one. It tells runs in this host's slow periods (vCPUs placed far apart:
  // 0.3 us and more, against 0.03-0.08 us) from the rest.
  double barrier_us = std::numeric_limits<double>::quiet_NaN();
};

struct Evaluation {
  double loss = 0, accuracy = 0;
};

// Everything needed to continue a run exactly where it stopped (see checkpoint.h).
struct TrainState {
  int epoch = 0;                       // epochs completed
  size_t step = 0;                     // steps completed in the current epoch
  uint64_t updates = 0;                // optimizer steps so far
  std::array<uint64_t, 4> shuffle_rng{};
  std::vector<uint32_t> order;         // the current epoch's sample order
  double loss_sum = 0;                 // the current epoch's running sums
  uint64_t correct = 0, seen = 0;
  double train_seconds = 0;
  std::vector<EpochResult> history;
};

enum class StopReason { kCompleted, kDiverged, kInterrupted };

struct TrainCallbacks {
  // Leader thread, after each step: (epoch from 1, steps done, steps per epoch, running loss,
  // running accuracy). Keep it cheap: it sits inside the step loop.
  std::function<void(int, size_t, size_t, double, double)> on_step;
  std::function<void(const EpochResult&)> on_epoch_end;
  // Polled once per step; true stops the run after the current step.
  std::function<bool()> stop_requested;
};

class Trainer {
 public:
  Trainer(const Experiment& experiment, const Dataset& train, const Dataset& test, int threads);

  StopReason run(const TrainCallbacks& callbacks);
  Evaluation evaluate(const Dataset& data);

  Mlp& model() { return model_; }
  Optimizer& optimizer() { return optimizer_; }
  TrainState& state() { return state_; }
  size_t steps_per_epoch() const;
  size_t train_samples() const { return train_.size(); }
  // Where divergence happened: epoch (from 1) and step (from 1).
  std::pair<int, size_t> diverged_at() const { return diverged_at_; }

 private:
  void begin_epoch();
  double probe_barrier() const;
  // Rows `indices` of `data` into `batch` (the share `part` of them).
  void gather_batch(Batch batch, const Dataset& data, const uint32_t* indices, size_t rows,
                    kernels::Part part) const;

  const Experiment& experiment_;
  const Dataset& train_;
  const Dataset& test_;
  int threads_;
  Mlp model_;
  Optimizer optimizer_;
  Workspace train_ws_;
  Workspace eval_ws_;
  TrainState state_;
  std::pair<int, size_t> diverged_at_{0, 0};
};

}  // namespace mlpbench
