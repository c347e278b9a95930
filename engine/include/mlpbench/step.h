#pragma once
// One training step's schedule: which thread of the team does what, between which barriers.
#include <functional>

#include "mlpbench/model.h"
#include "mlpbench/optimizer.h"

namespace mlpbench {

// The points of a step at which StepHooks::at is called, by every thread.
enum class StepPoint {
  kForwardDone,   // after phase 1 (its barrier passed)
  kOwnWorkDone,   // after the leader's or the gatherer's work in phase 2, before its barrier
  kBarrierPassed, // phase 2's barrier passed
  kUpdateDone,    // after phase 3 (its barrier passed)
};

struct StepHooks {
  // Run by the team's leader (Team::leader()) once the batch's losses and predictions are in
  // ws.losses and ws.predicted: the caller's running sums and stop checks.
  std::function<void()> after_loss;
  // Run by the threads that are not the leader while it works (by the only thread, after its
  // upper-layer work, in a team of one), each with its share: gather the next batch into the other
  // buffer. Must not touch the current batch.
  std::function<void(kernels::Part)> prepare_next;
  // Run by every thread at each StepPoint: for timing the phases (bench/step_phases).
  std::function<void(StepPoint)> at;
};

// Three phases, three barriers:
//  1. every thread: layer 0's forward pass, its share of the tiles;
//  2. the leader (Team::leader()): the upper layers (every layer above 0), forward, loss and
//     backward with their updates, alone and without barriers, down to layer 0's delta;
//     meanwhile the other threads run hooks.prepare_next;
//  3. every thread: layer 0's weight gradient with its update, its share.
// Layer 0 (784 inputs) is nearly all the work. The layers above it are small (model B: 64x32
// and 32x10): split between threads they cost more in barriers and in lines moving between
// cores than they gain, and alone on one thread the next batch's gather hides behind them
// (bench/PERF.md #23). Every kernel computes the same tiles whatever the split, so the numbers
// are bitwise those of the plain phases (model.h) run by the whole team.
void train_step(Mlp& model, Workspace& ws, Batch batch, size_t rows, Optimizer& optimizer,
                uint64_t t, const Team& team, const StepHooks& hooks);

}  // namespace mlpbench
