#pragma once
// Adam and SGD (with optional momentum) over one flat parameter buffer. Adam can also be fused
// into the GEMMs that produce weight gradients, so those gradients never go to memory.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mlpbench/kernels.h"
#include "mlpbench/spec.h"
#include "mlpbench/tensor.h"

namespace mlpbench {

class Optimizer {
 public:
  Optimizer(const OptimizerSpec& spec, size_t parameters);

  // Update number `t` (from 1) of params[offset, offset + n) from grads (same layout);
  // each thread updates its part.
  void step(float* params, const float* grads, size_t offset, size_t n, uint64_t t,
            kernels::Part part);

  // For update `t`: true if this optimizer can run in a weight-gradient GEMM's epilogue (Adam),
  // with `fused` set up for the parameters starting at params + offset.
  bool fuse(float* params, size_t offset, uint64_t t, kernels::FusedAdam& fused);

  // The optimizer's state, named, for checkpoints (Adam: m and v; SGD: velocity).
  std::vector<std::pair<std::string, FloatBuffer*>> state();

  // The learning rate of update `t` (from 1): the schedule's at step t - 1 (Keras evaluates it
  // at the iteration count before the update), else the constant rate; during a warmup times
  // warmup_factor(t).
  double learning_rate(uint64_t t) const;
  // The constant rate (no schedule): the spec's until ReduceLROnPlateau changes it.
  double constant_rate() const { return rate_; }
  void set_constant_rate(double rate) { rate_ = rate; }
  // With a schedule: evaluates it once for updates [first, first + count), before a run of
  // steps, so that a step reads its rate from a table (the team's threads only read it).
  void plan_rates(uint64_t first, size_t count);
  // A linear warmup over updates 1..steps (Goyal et al. 2017): update t's rate is multiplied by
  // start + (1 - start) * (t - 1) / steps, so update 1 runs at `start` times the rate and update
  // steps + 1 onwards at the full rate. steps = 0: no warmup (the rate is left untouched).
  void set_warmup(uint64_t steps, double start);
  double warmup_factor(uint64_t t) const;

 private:
  kernels::AdamArgs adam_args(uint64_t t) const;
  double rate_of_update(uint64_t t) const;

  OptimizerSpec spec_;
  size_t n_;
  FloatBuffer first_, second_;
  double rate_;
  uint64_t warmup_steps_ = 0;
  double warmup_start_ = 1.0;
  uint64_t planned_first_ = 0;
  std::vector<double> planned_;
};

}  // namespace mlpbench
