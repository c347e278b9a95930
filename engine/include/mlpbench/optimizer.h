#pragma once
// Adam and SGD (with optional momentum) over one flat parameter buffer.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mlpbench/experiment.h"
#include "mlpbench/kernels.h"
#include "mlpbench/tensor.h"

namespace mlpbench {

class Optimizer {
 public:
  Optimizer(const OptimizerSpec& spec, size_t parameters);

  // Update number `t` (from 1): each thread updates its part of params from grads.
  void step(float* params, const float* grads, uint64_t t, kernels::Part part);

  // The optimizer's state, named, for checkpoints (Adam: m and v; SGD: velocity).
  std::vector<std::pair<std::string, FloatBuffer*>> state();

 private:
  OptimizerSpec spec_;
  size_t n_;
  FloatBuffer first_, second_;
};

}  // namespace mlpbench
