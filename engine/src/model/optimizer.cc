#include "mlpbench/optimizer.h"

#include <cmath>

#include "mlpbench/schedule.h"

namespace mlpbench {

Optimizer::Optimizer(const OptimizerSpec& spec, size_t parameters)
    : spec_(spec), n_(parameters), rate_(spec.learning_rate) {
  first_.resize(n_);
  if (spec_.kind == OptimizerKind::kAdam) second_.resize(n_);
}

double Optimizer::learning_rate(uint64_t t) const {
  const double rate = spec_.schedule ? schedule_rate(*spec_.schedule, t - 1) : rate_;
  return t <= warmup_steps_ ? rate * warmup_factor(t) : rate;  // no warmup: the rate untouched
}

void Optimizer::set_warmup(uint64_t steps, double start) {
  warmup_steps_ = steps;
  warmup_start_ = start;
}

double Optimizer::warmup_factor(uint64_t t) const {
  if (t > warmup_steps_) return 1.0;
  return warmup_start_ + (1.0 - warmup_start_) * static_cast<double>(t - 1) / static_cast<double>(warmup_steps_);
}

void Optimizer::plan_rates(uint64_t first, size_t count) {
  planned_.clear();
  if (!spec_.schedule) return;
  planned_first_ = first;
  planned_.resize(count);
  for (size_t i = 0; i < count; ++i) planned_[i] = learning_rate(first + i);
}

double Optimizer::rate_of_update(uint64_t t) const {
  if (!spec_.schedule) return t <= warmup_steps_ ? learning_rate(t) : rate_;
  if (t >= planned_first_ && t - planned_first_ < planned_.size()) return planned_[t - planned_first_];
  return learning_rate(t);  // outside a planned run (tests calling step() directly)
}

kernels::AdamArgs Optimizer::adam_args(uint64_t t) const {
  kernels::AdamArgs a;
  // Bias corrections in double, once per step (Keras folds them into the step size).
  const double td = static_cast<double>(t);
  a.alpha = static_cast<float>(rate_of_update(t) * std::sqrt(1 - std::pow(spec_.beta_2, td)) /
                               (1 - std::pow(spec_.beta_1, td)));
  a.beta_1 = static_cast<float>(spec_.beta_1);
  a.beta_2 = static_cast<float>(spec_.beta_2);
  a.epsilon = static_cast<float>(spec_.epsilon);
  return a;
}

void Optimizer::step(float* params, const float* grads, size_t offset, size_t n, uint64_t t,
                     kernels::Part part) {
  if (spec_.kind == OptimizerKind::kAdam) {
    kernels::adam(params + offset, grads + offset, first_.data() + offset,
                  second_.data() + offset, n, adam_args(t), part);
  } else {
    kernels::SgdArgs s;
    s.learning_rate = static_cast<float>(rate_of_update(t));
    s.momentum = static_cast<float>(spec_.momentum);
    s.nesterov = spec_.nesterov;
    kernels::sgd(params + offset, grads + offset, first_.data() + offset, n, s, part);
  }
}

bool Optimizer::fuse(float* params, size_t offset, uint64_t t, kernels::FusedAdam& fused) {
  if (spec_.kind != OptimizerKind::kAdam) return false;
  fused.args = adam_args(t);
  fused.param = params + offset;
  fused.m = first_.data() + offset;
  fused.v = second_.data() + offset;
  return true;
}

std::vector<std::pair<std::string, FloatBuffer*>> Optimizer::state() {
  if (spec_.kind == OptimizerKind::kAdam) return {{"adam.m", &first_}, {"adam.v", &second_}};
  return {{"sgd.velocity", &first_}};
}

}  // namespace mlpbench
