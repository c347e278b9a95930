#pragma once
// A multilayer perceptron: dense layers (kernel [in x out], bias [out], as in Keras) with ReLU
// or linear hidden activations and a softmax output folded into the loss. Kernels are stored
// in column panels (kernels::kPanelCols; row-major for layers of at most 32 units); the Keras
// layout is produced only at the edges (weights files, checkpoints, tests) by kernel_rows().
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mlpbench/experiment.h"
#include "mlpbench/parallel.h"
#include "mlpbench/tensor.h"

namespace mlpbench {

class Optimizer;

struct DenseLayer {
  size_t in = 0, out = 0;
  bool relu = false;
  size_t kernel_offset = 0, bias_offset = 0;  // into the flat parameter buffer
};

class Mlp {
 public:
  Mlp(size_t inputs, const std::vector<LayerSpec>& layers);

  const std::vector<DenseLayer>& layers() const { return layers_; }
  size_t inputs() const { return layers_.front().in; }
  size_t outputs() const { return layers_.back().out; }
  size_t parameter_count() const;  // weights and biases, without alignment padding

  // All parameters in one buffer (each tensor starts 64-byte aligned), so that an optimizer
  // is one flat loop; gradients use the same layout.
  FloatBuffer& params() { return params_; }
  const FloatBuffer& params() const { return params_; }
  float* kernel(size_t l) { return params_.data() + layers_[l].kernel_offset; }
  const float* kernel(size_t l) const { return params_.data() + layers_[l].kernel_offset; }
  float* bias(size_t l) { return params_.data() + layers_[l].bias_offset; }
  const float* bias(size_t l) const { return params_.data() + layers_[l].bias_offset; }
  // Index into params() of kernel element (i, j) of layer l (input i, unit j).
  size_t kernel_index(size_t l, size_t i, size_t j) const;
  // Layer l's kernel in Keras layout ([in x out], row-major), and back.
  std::vector<float> kernel_rows(size_t l) const;
  void set_kernel_rows(size_t l, const float* rows);

  // Glorot-uniform kernels (limit sqrt(6 / (in + out))) and zero biases, from `seed`.
  void init_glorot(uint64_t seed);

  // GEMM flops (2 per multiply-add) per sample: forward only, and a whole training step
  // (forward, weight gradients, input gradients of every layer but the first).
  double inference_flops_per_sample() const;
  double training_flops_per_sample() const;

 private:
  std::vector<DenseLayer> layers_;
  FloatBuffer params_;
};

// Activations and gradients of one batch of up to `max_rows` samples.
struct Workspace {
  // `input_copies` > 1: one input buffer per thread of a team of that size (see input_for).
  Workspace(const Mlp& model, size_t max_rows, int input_copies = 1);
  size_t max_rows;
  FloatBuffer input;                  // [rows x inputs], shared (empty with thread_inputs)
  // With one copy per thread, each thread gathers the whole batch into its own and the layers
  // read it from there: the batch's lines never move between cores, where a shared input
  // written by both threads is invalidated in the other core's cache every step
  // (bench/PERF.md #20). Empty: every thread reads `input`.
  std::vector<FloatBuffer> thread_inputs;
  float* input_for(const Team& team) {
    return thread_inputs.empty() ? input.data()
                                 : thread_inputs[static_cast<size_t>(team.part().index)].data();
  }
  const float* input_for(const Team& team) const {
    return const_cast<Workspace*>(this)->input_for(team);
  }
  std::vector<uint8_t> labels;        // [rows]
  std::vector<FloatBuffer> outputs;   // per layer: [rows x out], after the activation
  std::vector<FloatBuffer> deltas;    // per layer: dLoss/d(pre-activation), [rows x out]
  std::vector<FloatBuffer> kernel_t;  // per layer > 0: the kernel transposed, [out x in]
  FloatBuffer grads;                  // same layout as Mlp::params()
  std::vector<float> losses;          // [rows]
  std::vector<int32_t> predicted;     // [rows]
};

// The phases of a step. Each is called by every thread of a team with the same arguments and
// returns after a team sync, its outputs complete.

// Layer outputs for the input rows [0, rows) (ws.input_for(team)); the last layer's are logits.
void forward(const Mlp& model, Workspace& ws, size_t rows, const Team& team);
// Per-sample losses and predictions; with `with_grad`, the last layer's delta (mean loss).
void loss_and_delta(const Mlp& model, Workspace& ws, size_t rows, bool with_grad,
                    const Team& team);
// Every layer's kernel transposed, for the input gradients of backward().
void transpose_kernels(const Mlp& model, Workspace& ws, const Team& team);
// Parameter gradients into ws.grads (needs forward, loss_and_delta, transpose_kernels).
void backward(const Mlp& model, Workspace& ws, size_t rows, const Team& team);
// backward() and update `t` of `optimizer` on every parameter: fused into the weight-gradient
// GEMMs where the optimizer allows it (Adam: those gradients never reach memory), after them
// otherwise. Numbers are bitwise those of backward() then Optimizer::step().
void backward_and_update(Mlp& model, Workspace& ws, size_t rows, Optimizer& optimizer,
                         uint64_t t, const Team& team);

}  // namespace mlpbench
