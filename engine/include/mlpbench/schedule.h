#pragma once
// Learning-rate schedules as Keras defines them (keras.optimizers.schedules), in double.
#include <cstdint>

#include "mlpbench/spec.h"

namespace mlpbench {

// The rate at optimizer step `step`, counted from 0: Keras evaluates a schedule at the
// optimizer's iteration count before the update, so update t (from 1) uses step t - 1.
//  ExponentialDecay:       initial_learning_rate * decay_rate ^ (step / decay_steps), the
//                          exponent floored with staircase
//  PiecewiseConstantDecay: values[i], i = how many boundaries are below step (so a boundary's
//                          own step still has the earlier value)
//  CosineDecay:            warmup (with warmup_target): a line from initial_learning_rate to
//                          warmup_target over warmup_steps; then, from the rate d0 reached
//                          (warmup_target, else initial_learning_rate), with s = the steps after
//                          the warmup, at most decay_steps:
//                          d0 * ((1 - alpha) * 0.5 * (1 + cos(pi * s / decay_steps)) + alpha)
double schedule_rate(const ScheduleSpec& schedule, uint64_t step);

}  // namespace mlpbench
