#include "mlpbench/trainer.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <limits>
#include <numeric>
#include <stdexcept>

#include "mlpbench/kernels.h"
#include "mlpbench/reduction.h"
#include "mlpbench/rng.h"
#include "mlpbench/step.h"

namespace mlpbench {
namespace {

constexpr size_t kEvalRows = 1000;
constexpr int kBarrierProbes = 256;

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// A thread's phase clock: one steady_clock read at each StepPoint (4 per step), the time since
// the previous read added to the phase that point ends.
class PhaseClock {
 public:
  PhaseClock() : mark_(std::chrono::steady_clock::now()) {}
  void at(StepPoint point) {
    const auto now = std::chrono::steady_clock::now();
    const double s = std::chrono::duration<double>(now - mark_).count();
    mark_ = now;
    switch (point) {
      case StepPoint::kForwardDone: sums_.layer0_forward += s; break;
      case StepPoint::kOwnWorkDone: sums_.upper_layers_or_gather += s; break;
      case StepPoint::kBarrierPassed: sums_.barrier_wait += s; break;
      case StepPoint::kUpdateDone: sums_.layer0_backward_update += s; break;
    }
  }
  const StepPhaseSeconds& sums() const { return sums_; }

 private:
  std::chrono::steady_clock::time_point mark_;
  StepPhaseSeconds sums_;
};

std::vector<uint32_t> identity_order(size_t n) {
  std::vector<uint32_t> order(n);
  std::iota(order.begin(), order.end(), 0u);
  return order;
}

// The model's input width; the evaluation gathers test rows of the same width.
size_t checked_features(const Dataset& train, const Dataset& test) {
  if (train.features() != test.features()) {
    throw std::invalid_argument("Trainer: train and test images differ in size");
  }
  return train.features();
}

}  // namespace

Trainer::Trainer(const Experiment& experiment, const Dataset& train, const Dataset& test,
                 int threads, const Dataset* validation)
    : experiment_(experiment),
      train_(train),
      test_(test),
      validation_(validation),
      threads_(threads),
      model_(checked_features(train, test), experiment.model),
      optimizer_(experiment.optimizer, model_.params().size()),
      train_ws_(model_, static_cast<size_t>(experiment.batch_size), /*double_buffered=*/true),
      eval_ws_(model_, kEvalRows) {
  model_.init_glorot(experiment.seed);
  state_.shuffle_rng = Rng(experiment.seed, kShuffleStream).state();
  if (experiment.callbacks.early_stopping) early_stopping_.emplace(*experiment.callbacks.early_stopping);
  if (experiment.callbacks.reduce_lr_on_plateau) {
    reduce_lr_.emplace(*experiment.callbacks.reduce_lr_on_plateau);
  }
  // OpenMP may grant fewer threads than asked (OMP_THREAD_LIMIT, OMP_DYNAMIC): logs report this.
  run_team(threads_, [&](Team& team) {
    if (team.leader()) granted_threads_ = static_cast<int>(team.part().count);
  });
}

Trainer::~Trainer() = default;

size_t Trainer::steps_per_epoch() const {
  const size_t b = static_cast<size_t>(experiment_.batch_size);
  return (train_.size() + b - 1) / b;  // the last partial batch is kept
}

void Trainer::begin_epoch() {
  state_.order = identity_order(train_.size());
  if (experiment_.shuffle) {
    Rng rng(0, 0);
    rng.set_state(state_.shuffle_rng);
    shuffle(state_.order, rng);
    state_.shuffle_rng = rng.state();
  }
  state_.step = 0;
  state_.loss_sum = 0;
  state_.correct = state_.seen = 0;
  state_.train_seconds = 0;
  epoch_phases_.clear();
  epoch_phase_steps_ = 0;
}

void Trainer::gather_batch(Batch batch, const Dataset& data, const uint32_t* indices,
                           size_t rows, kernels::Part part) const {
  kernels::gather_pixels(data.pixels.data(), data.features(), indices, rows, batch.input, part,
                         /*streaming=*/threads_ > 1);
  for (size_t i = part.begin(rows); i < part.end(rows); ++i) batch.labels[i] = data.labels[indices[i]];
}

double Trainer::probe_barrier() {
  double us = std::numeric_limits<double>::quiet_NaN();
  run_team(threads_, [&](Team& team) {
    if (team.leader()) granted_threads_ = std::min(granted_threads_, static_cast<int>(team.part().count));
    if (team.part().count < 2) return;
    team.sync();
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kBarrierProbes; ++i) team.sync();
    if (team.leader()) us = seconds_since(t0) / kBarrierProbes * 1e6;
  });
  return us;
}

StopReason Trainer::run(const TrainCallbacks& callbacks) {
  const size_t batch = static_cast<size_t>(experiment_.batch_size);
  const size_t steps = steps_per_epoch();
  const double flops_per_sample = model_.training_flops_per_sample();

  // A batch's shard bounds depend only on its rows: those of a full batch and of the epoch's
  // last (maybe partial) one, computed once for the run (the batch size is fixed).
  const size_t shards = static_cast<size_t>(experiment_.shards);
  shard_bounds_full_ = shard_bounds(batch, batch, shards);
  shard_bounds_last_ = shard_bounds(train_.size() - (steps - 1) * batch, batch, shards);

  final_test_.reset();
  std::optional<Evaluation> last_test;
  while (state_.epoch < experiment_.epochs && !state_.stop_training) {
    if (state_.step == 0) begin_epoch();
    const int epoch = state_.epoch + 1;
    StopReason stop = StopReason::kCompleted;  // written by the team's leader, read after the step

    const size_t first_step = state_.step;
    const uint64_t first_update = state_.updates;
    const double barrier_us = probe_barrier();
    optimizer_.plan_rates(first_update + 1, steps - first_step);
    size_t team_size = 0;  // of the steps' team, for the phase times
    if (!comm_ && epoch_phases_.size() < static_cast<size_t>(threads_)) epoch_phases_.resize(threads_);
    const auto t0 = std::chrono::steady_clock::now();
    // A run interrupted on an epoch's last step resumes with only the evaluation left (a rank
    // still joins its epoch's collectives, which do nothing for no steps).
    if (comm_) {
      stop = distributed_steps(epoch, callbacks);
    } else if (first_step < steps) run_team(threads_, [&](Team& team) {
      const std::vector<size_t>& full_bounds = shard_bounds_full_;
      const std::vector<size_t>& last_bounds = shard_bounds_last_;
      auto rows_of = [&](size_t step) { return std::min(batch, train_.size() - step * batch); };
      auto gather = [&](size_t step, kernels::Part part) {
        gather_batch(train_ws_.batch(step), train_, state_.order.data() + step * batch,
                     rows_of(step), part);
      };
      size_t step = first_step;
      StepHooks hooks;
      hooks.after_loss = [&] {
        const size_t rows = rows_of(step);
        const uint8_t* labels = train_ws_.batch(step).labels;
        double batch_loss = 0;
        uint64_t correct = 0;
        for (size_t i = 0; i < rows; ++i) {
          batch_loss += train_ws_.losses[i];
          correct += train_ws_.predicted[i] == labels[i];
        }
        stop = count_step(epoch, step, rows, batch_loss, correct,
                          callbacks.stop_requested && callbacks.stop_requested());
      };
      hooks.prepare_next = [&](kernels::Part part) {
        if (step + 1 < steps) gather(step + 1, part);
      };

      // ws.shard_bounds is written by the leader only before the first step and when the batch
      // changes size (the last, partial one): the other threads read it in a step's backward
      // pass, which they reach only after the leader has passed the step's first barrier.
      auto set_shards = [&](size_t step) {
        if (experiment_.shards > 1 && step < steps && (step == first_step || rows_of(step) != batch)) {
          train_ws_.shard_bounds = rows_of(step) == batch ? full_bounds : last_bounds;
        }
      };
      if (team.leader()) set_shards(first_step);
      gather(first_step, team.part());
      team.sync();
      PhaseClock clock;
      hooks.at = [&clock](StepPoint point) { clock.at(point); };
      for (; step < steps; ++step) {
        const uint64_t update = first_update + (step - first_step) + 1;  // from 1
        // Its last sync publishes the leader's running sums and `stop`, and the next batch.
        train_step(model_, train_ws_, train_ws_.batch(step), rows_of(step), optimizer_, update,
                   team, hooks);
        if (team.leader()) {
          set_shards(step + 1);
          end_step(epoch, step, steps, update, callbacks);
        }
        if (stop != StopReason::kCompleted) break;
      }
      // Each thread its own entry, once (no lines shared between threads during the steps).
      StepPhaseSeconds& sums = epoch_phases_[team.part().index];
      sums.layer0_forward += clock.sums().layer0_forward;
      sums.upper_layers_or_gather += clock.sums().upper_layers_or_gather;
      sums.barrier_wait += clock.sums().barrier_wait;
      sums.layer0_backward_update += clock.sums().layer0_backward_update;
      if (team.leader()) {
        team_size = team.part().count;
        epoch_phase_steps_ += std::min(step + 1, steps) - first_step;
      }
    });
    state_.train_seconds += seconds_since(t0);
    if (team_size) epoch_phases_.resize(team_size);  // OpenMP may grant fewer threads than asked
    if (stop == StopReason::kCompleted &&
        kernels::any_non_finite(model_.params().data(), model_.params().size())) {
      stop = StopReason::kDiverged;
      diverged_at_ = {epoch, state_.step};
    }
    if (stop != StopReason::kCompleted) return stop;

    const auto e0 = std::chrono::steady_clock::now();
    EpochResult r;
    if (validation_) {
      const Evaluation val = evaluate(*validation_);
      r.val_loss = val.loss;
      r.val_accuracy = val.accuracy;
    }
    Evaluation test = evaluate(test_);
    r.epoch = epoch;
    r.steps = steps;
    r.train_loss = state_.loss_sum / state_.seen;
    r.train_accuracy = static_cast<double>(state_.correct) / state_.seen;
    r.test_loss = test.loss;
    r.test_accuracy = test.accuracy;
    r.eval_seconds = seconds_since(e0);
    r.barrier_us = barrier_us;
    r.train_seconds = state_.train_seconds;
    r.samples_per_second = state_.seen / r.train_seconds;
    r.gflops = flops_per_sample * state_.seen / r.train_seconds * 1e-9;
    r.learning_rate = optimizer_.learning_rate(state_.updates - steps + 1);
    r.learning_rate_end = optimizer_.learning_rate(state_.updates);
    if (epoch_phase_steps_) {
      r.phases = epoch_phases_;
      r.phase_steps = epoch_phase_steps_;
    }
    state_.history.push_back(r);
    state_.epoch = epoch;
    state_.step = 0;
    const bool finite = std::isfinite(test.loss) && (!validation_ || std::isfinite(r.val_loss));
    if (finite) apply_callbacks(r);
    last_test = std::move(test);
    if (callbacks.on_epoch_end) callbacks.on_epoch_end(r);
    if (!finite) {
      diverged_at_ = {epoch, steps};
      return StopReason::kDiverged;
    }
  }
  if (early_stopping_ && !best_weights_.empty()) {
    restore_best_weights();
    last_test.reset();
  }
  final_test_ = last_test ? std::move(last_test) : evaluate(test_);
  return StopReason::kCompleted;
}

namespace {
double monitored(const EpochResult& r, const std::string& monitor) {
  if (monitor == "loss") return r.train_loss;
  if (monitor == "accuracy") return r.train_accuracy;
  if (monitor == "val_loss") return r.val_loss;
  return r.val_accuracy;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}
}  // namespace

void Trainer::apply_callbacks(const EpochResult& r) {
  if (reduce_lr_) {
    const auto& spec = *experiment_.callbacks.reduce_lr_on_plateau;
    const double before = optimizer_.constant_rate();
    const double best = reduce_lr_->best();
    const double after = reduce_lr_->on_epoch_end(monitored(r, spec.monitor), before);
    if (after != before) {
      optimizer_.set_constant_rate(after);
      CallbackEvent ev;
      ev.epoch = r.epoch;
      ev.callback = "reduce_lr_on_plateau";
      ev.action = "reduce_learning_rate";
      ev.from = before;
      ev.to = after;
      ev.reason = spec.monitor + " " + number(monitored(r, spec.monitor)) + " did not improve on " +
                  number(best) + " by more than min_delta " + number(spec.min_delta) + " for " +
                  std::to_string(spec.patience) + " epoch" + (spec.patience == 1 ? "" : "s") +
                  ": learning rate " + number(before) + " -> " + number(after);
      state_.events.push_back(ev);
    }
  }
  if (early_stopping_) {
    const auto& spec = *experiment_.callbacks.early_stopping;
    const double best = early_stopping_->best();
    const EarlyStopping::Decision d = early_stopping_->on_epoch_end(r.epoch - 1, monitored(r, spec.monitor));
    if (d.snapshot) {
      const auto& p = model_.params();
      best_weights_.assign(p.begin(), p.end());
    }
    if (d.stop) {
      state_.stop_training = true;
      CallbackEvent ev;
      ev.epoch = r.epoch;
      ev.callback = "early_stopping";
      ev.action = "stop_training";
      ev.reason = spec.monitor + " did not improve on " + number(best) + " by more than min_delta " +
                  number(spec.min_delta) + " for " + std::to_string(early_stopping_->wait()) +
                  " epoch" + (early_stopping_->wait() == 1 ? "" : "s") + " (patience " +
                  std::to_string(spec.patience) + ")";
      if (spec.baseline) ev.reason += ", or not on baseline " + number(*spec.baseline);
      state_.events.push_back(ev);
    }
  }
}

void Trainer::restore_best_weights() {
  auto& p = model_.params();
  std::copy(best_weights_.begin(), best_weights_.end(), p.begin());
  const auto& spec = *experiment_.callbacks.early_stopping;
  const int best = early_stopping_->best_epoch() + 1;
  CallbackEvent ev;
  ev.epoch = state_.epoch;
  ev.callback = "early_stopping";
  ev.action = "restore_best_weights";
  ev.restored_epoch = best;
  ev.reason = "restored the weights of epoch " + std::to_string(best) + " (" + spec.monitor + " " +
              number(early_stopping_->best()) + ")";
  state_.events.push_back(ev);
}

Evaluation Trainer::evaluate(const Dataset& data) {
  std::vector<float> losses(data.size());
  uint64_t correct = 0;
  const size_t classes = model_.outputs();
  std::vector<uint64_t> confusion(classes * classes);
  run_team(threads_, [&](Team& team) {
    std::vector<uint32_t> indices(kEvalRows);
    for (size_t first = 0; first < data.size(); first += kEvalRows) {
      const size_t rows = std::min(kEvalRows, data.size() - first);
      std::iota(indices.begin(), indices.begin() + rows, static_cast<uint32_t>(first));
      gather_batch(eval_ws_.batch(0), data, indices.data(), rows, team.part());
      team.sync();
      forward(model_, eval_ws_, rows, team);
      loss_and_delta(model_, eval_ws_, rows, /*with_grad=*/false, team);
      if (team.leader()) {
        for (size_t i = 0; i < rows; ++i) {
          losses[first + i] = eval_ws_.losses[i];
          correct += eval_ws_.predicted[i] == eval_ws_.labels[i];
          ++confusion[eval_ws_.labels[i] * classes + static_cast<size_t>(eval_ws_.predicted[i])];
        }
      }
      team.sync();
    }
  });
  double sum = 0;
  for (float l : losses) sum += l;
  Evaluation e;
  e.loss = data.size() ? sum / data.size() : 0;
  e.accuracy = data.size() ? static_cast<double>(correct) / data.size() : 0;
  e.classes = classes;
  e.confusion = std::move(confusion);
  return e;
}

StopReason Trainer::count_step(int epoch, size_t step, size_t rows, double batch_loss, uint64_t correct,
                               bool stop_asked) {
  state_.correct += correct;
  state_.loss_sum += batch_loss;
  state_.seen += rows;
  if (!std::isfinite(batch_loss)) {
    diverged_at_ = {epoch, step + 1};
    return StopReason::kDiverged;
  }
  return stop_asked ? StopReason::kInterrupted : StopReason::kCompleted;
}

void Trainer::end_step(int epoch, size_t step, size_t steps, uint64_t update, const TrainCallbacks& callbacks) {
  state_.updates = update;
  state_.step = step + 1;
  if (callbacks.on_step) {
    callbacks.on_step(epoch, step + 1, steps, state_.loss_sum / state_.seen,
                      static_cast<double>(state_.correct) / state_.seen);
  }
}

}  // namespace mlpbench
