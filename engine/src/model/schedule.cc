#include "mlpbench/schedule.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace mlpbench {

double schedule_rate(const ScheduleSpec& s, uint64_t step_count) {
  const double step = static_cast<double>(step_count);
  if (s.kind == ScheduleKind::kExponentialDecay) {
    double p = step / static_cast<double>(s.decay_steps);
    if (s.staircase) p = std::floor(p);
    return s.initial_learning_rate * std::pow(s.decay_rate, p);
  }
  if (s.kind == ScheduleKind::kPiecewiseConstantDecay) {
    size_t i = 0;
    while (i < s.boundaries.size() && static_cast<double>(s.boundaries[i]) < step) ++i;
    return s.values[i];
  }
  // CosineDecay
  const double decay_steps = static_cast<double>(s.decay_steps);
  auto decay = [&](double t, double from) {
    const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * (t / decay_steps)));
    return from * ((1 - s.alpha) * cosine + s.alpha);
  };
  if (!s.warmup_target) return decay(std::min(step, decay_steps), s.initial_learning_rate);
  const double warmup_steps = static_cast<double>(s.warmup_steps);
  const double t = std::min(step, decay_steps + warmup_steps);
  if (t < warmup_steps) {
    return (*s.warmup_target - s.initial_learning_rate) * (t / warmup_steps) +
           s.initial_learning_rate;
  }
  return decay(t - warmup_steps, *s.warmup_target);
}

}  // namespace mlpbench
