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

 private:
  kernels::AdamArgs adam_args(uint64_t t) const;

  OptimizerSpec spec_;
  size_t n_;
  FloatBuffer first_, second_;
};

}  // namespace mlpbench
