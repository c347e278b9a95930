#pragma once
// The training loop: per epoch, shuffle (seeded) -> batches -> forward -> loss -> backward ->
// optimizer step, then evaluation on the test set.
#include <array>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <memory>
#include <vector>

#include "mlpbench/callbacks.h"
#include "mlpbench/dataset.h"
#include "mlpbench/distributed.h"
#include "mlpbench/experiment.h"
#include "mlpbench/model.h"
#include "mlpbench/optimizer.h"

namespace mlpbench {

class TreeReduction;

// One thread's time in each phase of the training step (step.h), summed over an epoch's steps.
// A step's first phase starts where the previous step's last ended, so it also holds the
// leader's bookkeeping between steps; the phases of a thread add up to its time in the steps.
struct StepPhaseSeconds {
  double layer0_forward = 0;          // phase 1: layer 0's forward pass, its share, to its barrier
  double upper_layers_or_gather = 0;  // phase 2: the leader's upper layers, the others' gather
  double barrier_wait = 0;            // phase 2's barrier: waiting for the leader
  double layer0_backward_update = 0;  // phase 3: layer 0's weight gradient and update, to its barrier
};

struct EpochResult {
  int epoch = 0;  // from 1
  double train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0;
  double train_seconds = 0, eval_seconds = 0, samples_per_second = 0, gflops = 0;
  size_t steps = 0;
  // One round trip of the team's barrier just before the epoch's steps, in microseconds; NaN
  // for a team of one. It tells runs in a shared host's slow periods (vCPUs placed far apart:
  // several times the usual round trip; results/README.md) from the rest.
  double barrier_us = std::numeric_limits<double>::quiet_NaN();
  // On the validation split (NaN without one); evaluated before the test set, the time in
  // eval_seconds.
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_accuracy = std::numeric_limits<double>::quiet_NaN();
  // The rate of the epoch's first and last update (a schedule's, or the constant rate).
  double learning_rate = std::numeric_limits<double>::quiet_NaN();
  double learning_rate_end = std::numeric_limits<double>::quiet_NaN();
  // Per thread of the team (index: Team part), over the epoch's `phase_steps` steps run by this
  // process (fewer than `steps` when it resumed the epoch); empty for a distributed rank.
  std::vector<StepPhaseSeconds> phases;
  size_t phase_steps = 0;
};

struct Evaluation {
  double loss = 0, accuracy = 0;
  size_t classes = 0;
  std::vector<uint64_t> confusion;  // [true class x predicted class] counts
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
  bool stop_training = false;          // set by early stopping
  std::vector<CallbackEvent> events;   // what the callbacks did, in order
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
  // `validation`: the held-out split (Experiment::validation_split), or null.
  Trainer(const Experiment& experiment, const Dataset& train, const Dataset& test, int threads,
          const Dataset* validation = nullptr);
  ~Trainer();

  // Makes this trainer one rank of comm's job (before run(); every rank builds its trainer
  // from the same experiment and data). Rank r computes the shards [r S/R, (r + 1) S/R) of every
  // batch; the stop checks, divergence and running sums are agreed between ranks every step.
  void distribute(Comm* comm, Reduction reduction);
  // After a distributed run stopped: the largest signal number any rank's stop_requested saw
  // (stop_signal, below), 0 if none.
  int agreed_signal() const { return agreed_signal_; }
  // Distributed: polled each step for this rank's pending signal (0: none); replaces
  // TrainCallbacks::stop_requested.
  std::function<int()> stop_signal;
  // Distributed: every rank's phase times of the last completed epoch, in rank order.
  const std::vector<RankEpochStats>& rank_stats() const { return rank_stats_; }
  // Distributed, collective: completes every rank's copy of the optimizer state (each rank
  // updates only its slice of it), e.g. before a checkpoint.
  void gather_optimizer_state();

  // Trains until the epochs are done or early stopping stops it; then restores the best weights
  // if early stopping says so. Completed runs leave final_test() set.
  StopReason run(const TrainCallbacks& callbacks);
  Evaluation evaluate(const Dataset& data);
  // The test set evaluated with the weights the run ends with (after any restore).
  const std::optional<Evaluation>& final_test() const { return final_test_; }

  Mlp& model() { return model_; }
  Optimizer& optimizer() { return optimizer_; }
  TrainState& state() { return state_; }
  size_t steps_per_epoch() const;
  size_t train_samples() const { return train_.size(); }
  // The smallest team OpenMP granted so far (at most the threads asked for).
  int granted_threads() const { return granted_threads_; }
  // Where divergence happened: epoch (from 1) and step (from 1).
  std::pair<int, size_t> diverged_at() const { return diverged_at_; }

  // Callback state, for checkpoints: absent when the experiment has no such callback.
  std::optional<EarlyStopping>& early_stopping() { return early_stopping_; }
  std::optional<ReduceLrOnPlateau>& reduce_lr_on_plateau() { return reduce_lr_; }
  // The weights early stopping keeps (restore_best_weights), params() layout; empty if none.
  std::vector<float>& best_weights() { return best_weights_; }

 private:
  void begin_epoch();
  // Keras' callbacks at an epoch's end (the epoch is in history already).
  void apply_callbacks(const EpochResult& r);
  void restore_best_weights();
  // One epoch's steps from state_.step on, as a rank; returns why it ended.
  StopReason distributed_steps(int epoch, const TrainCallbacks& callbacks);
  // The leader's bookkeeping of a step, one process or a rank alike: after its loss, the running
  // sums (`batch_loss` summed over the batch's rows in order, `correct` of its `rows`), then
  // divergence, else the stop asked for; after its update, the counters and on_step.
  StopReason count_step(int epoch, size_t step, size_t rows, double batch_loss, uint64_t correct,
                        bool stop_asked);
  void end_step(int epoch, size_t step, size_t steps, uint64_t update, const TrainCallbacks& callbacks);
  double probe_barrier();
  // Rows `indices` of `data` into `batch` (the share `part` of them).
  void gather_batch(Batch batch, const Dataset& data, const uint32_t* indices, size_t rows,
                    kernels::Part part) const;

  const Experiment& experiment_;
  const Dataset& train_;
  const Dataset& test_;
  const Dataset* validation_;
  int threads_;
  Mlp model_;
  Optimizer optimizer_;
  Workspace train_ws_;
  Workspace eval_ws_;
  TrainState state_;
  std::pair<int, size_t> diverged_at_{0, 0};
  std::optional<EarlyStopping> early_stopping_;
  std::optional<ReduceLrOnPlateau> reduce_lr_;
  std::vector<float> best_weights_;
  std::optional<Evaluation> final_test_;
  int granted_threads_ = 1;
  Comm* comm_ = nullptr;
  Reduction reduction_kind_ = Reduction::kTree;
  std::unique_ptr<TreeReduction> reduction_;
  int agreed_signal_ = 0;
  std::vector<RankEpochStats> rank_stats_;
  // shard_bounds() of a full batch and of an epoch's last batch (set by run()).
  std::vector<size_t> shard_bounds_full_, shard_bounds_last_;
  // The current epoch's phase times and the steps they cover, in this process.
  std::vector<StepPhaseSeconds> epoch_phases_;
  size_t epoch_phase_steps_ = 0;
};

}  // namespace mlpbench
