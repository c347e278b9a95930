#pragma once
// The work of a kernel counted from its shapes, for the roofline (tools/plot_roofline.py):
// flops, the minimum memory traffic (each operand read once, each output written once) and the
// working set (the distinct bytes it touches, which says in which memory level it can live).
// Reported per benchmark iteration as the counters flops_per_iteration, bytes_per_iteration and
// working_set_bytes; achieved GFLOP/s is flops_per_iteration over the iteration's time.
#include <benchmark/benchmark.h>

#include <cstddef>

#include "mlpbench/model.h"

namespace mlpbench::bench {

struct WorkCounts {
  double flops = 0, bytes = 0, working_set = 0;
};

constexpr double kFloat = sizeof(float);

// Adam per parameter: m = b1 m + (1-b1) g (3 flops), v = b2 v + (1-b2) g^2 (4), p -= a m /
// (sqrt(v) + eps) (5, a square root and a division counted as one flop each).
constexpr double kAdamFlopsPerParam = 12;

// The plain Adam pass: p, g, m, v read, p, m, v written.
inline WorkCounts adam_counts(size_t params) {
  const double n = static_cast<double>(params);
  return {kAdamFlopsPerParam * n, 7 * kFloat * n, 4 * kFloat * n};
}

// C[m x n] = A[m x k] . B[k x n] with its epilogue's extra operands: a bias row, a mask
// [m x n], or (fused_adam) Adam applied to C in registers: C is not written, the parameters,
// m and v [m x n] are read and written instead, and Adam's flops are added.
inline WorkCounts gemm_counts(size_t m, size_t n, size_t k, bool bias, bool mask, bool fused_adam) {
  const double mn = static_cast<double>(m) * n;
  const double inputs = static_cast<double>(m) * k + static_cast<double>(k) * n +
                        (bias ? static_cast<double>(n) : 0) + (mask ? mn : 0);
  WorkCounts c;
  c.flops = 2 * mn * static_cast<double>(k);
  if (fused_adam) {
    c.flops += kAdamFlopsPerParam * mn;
    c.bytes = kFloat * (inputs + 6 * mn);
    c.working_set = kFloat * (inputs + 3 * mn);
  } else {
    c.bytes = kFloat * (inputs + mn);
    c.working_set = c.bytes;
  }
  return c;
}

// One training step (forward, backward, Adam) of `model` on `batch` rows. Flops: the GEMMs'
// (Mlp::training_flops_per_sample) and Adam's; bias sums, activations and the softmax are left
// out (well under 1 % of the total). Minimum traffic: what a step must read and write at all,
// the batch (float inputs and byte labels) and the parameters with Adam's m and v, read and
// written once; activations and gradients are intermediates. Working set: the batch, the
// parameters, their gradients, m and v, and every layer's outputs and deltas.
inline WorkCounts step_counts(const Mlp& model, size_t batch) {
  const double params = static_cast<double>(model.parameter_count());
  const double rows = static_cast<double>(batch);
  double layer_outputs = 0;
  for (const DenseLayer& layer : model.layers()) layer_outputs += static_cast<double>(layer.out);
  const double batch_bytes = rows * (kFloat * static_cast<double>(model.inputs()) + 1);
  WorkCounts c;
  c.flops = model.training_flops_per_sample() * rows + kAdamFlopsPerParam * params;
  c.bytes = batch_bytes + 6 * kFloat * params;
  c.working_set = batch_bytes + 4 * kFloat * params + 2 * kFloat * rows * layer_outputs;
  return c;
}

inline void set_work_counters(benchmark::State& state, const WorkCounts& c) {
  state.counters["flops_per_iteration"] = c.flops;
  state.counters["bytes_per_iteration"] = c.bytes;
  state.counters["working_set_bytes"] = c.working_set;
}

}  // namespace mlpbench::bench
