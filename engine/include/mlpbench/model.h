#pragma once
// A multilayer perceptron: dense layers (weights [in x out], bias [out], as in Keras, which
// calls the weights "kernel") with ReLU or linear hidden activations and a softmax output
// folded into the loss. Weights are stored in column panels (kernels::kPanelCols; row-major
// for layers of at most 32 units); the Keras layout is produced only at the edges (weights
// files, checkpoints, tests) by weight_rows(). "Kernel" in this code means a SIMD routine
// of namespace kernels::, never a weight matrix.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mlpbench/parallel.h"
#include "mlpbench/spec.h"
#include "mlpbench/tensor.h"

namespace mlpbench {

class Optimizer;

struct DenseLayer {
  size_t in = 0, out = 0;
  Activation activation = Activation::kLinear;
  bool relu() const { return activation == Activation::kRelu; }
  size_t weights_offset = 0, bias_offset = 0;  // into the flat parameter buffer
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
  float* weights(size_t l) { return params_.data() + layers_[l].weights_offset; }
  const float* weights(size_t l) const { return params_.data() + layers_[l].weights_offset; }
  float* bias(size_t l) { return params_.data() + layers_[l].bias_offset; }
  const float* bias(size_t l) const { return params_.data() + layers_[l].bias_offset; }
  // Index into params() of weight (i, j) of layer l (input i, unit j).
  size_t weight_index(size_t l, size_t i, size_t j) const;
  // Layer l's weights in Keras layout ([in x out], row-major), and back.
  std::vector<float> weight_rows(size_t l) const;
  void set_weight_rows(size_t l, const float* rows);

  // Glorot-uniform weights (limit sqrt(6 / (in + out))) and zero biases, from `seed`.
  void init_glorot(uint64_t seed);

  // GEMM flops (2 per multiply-add) per sample: forward only, and a whole training step
  // (forward, weight gradients, input gradients of every layer but the first).
  double inference_flops_per_sample() const;
  double training_flops_per_sample() const;

 private:
  std::vector<DenseLayer> layers_;
  FloatBuffer params_;
};

// Where a batch lives: its input rows [rows x inputs] and labels [rows].
struct Batch {
  float* input;
  uint8_t* labels;
};

// Activations and gradients of one batch of up to `max_rows` samples.
struct Workspace {
  // `double_buffered`: a second batch buffer, so training can gather the next batch while the
  // current one trains (step.h).
  Workspace(const Mlp& model, size_t max_rows, bool double_buffered = false);
  size_t max_rows;
  FloatBuffer input;                  // [rows x inputs]
  std::vector<uint8_t> labels;        // [rows]
  FloatBuffer next_input;             // the second buffer (empty unless double_buffered)
  std::vector<uint8_t> next_labels;
  // Buffer slot % 2: even slots are input/labels, odd ones next_input/next_labels.
  Batch batch(size_t slot);
  std::vector<FloatBuffer> outputs;   // per layer: [rows x out], after the activation
  std::vector<FloatBuffer> deltas;    // per layer: dLoss/d(pre-activation), [rows x out]
  std::vector<size_t> delta_ld;       // per layer: the row stride of deltas (delta_row_stride)
  std::vector<FloatBuffer> weights_t;  // per layer > 0: the weights transposed, [out x in]
  FloatBuffer grads;                  // same layout as Mlp::params()
  // How the current batch's rows are cut into micro-shards for the parameter gradients: shard s
  // is rows [shard_bounds[s], shard_bounds[s + 1]) (see shard_bounds()). Empty: the default
  // engine (biases by column sums); {0, rows}: one shard of a sharded run (biases by the same
  // GEMM as several shards).
  std::vector<size_t> shard_bounds;
  std::vector<float> losses;          // [rows]
  std::vector<int32_t> predicted;     // [rows]
};

// The row stride of a layer's deltas: `out`, padded by one cache line when a row is a multiple of
// 1 KiB (and the layer is not the last, whose deltas share the logits' stride). The weight
// gradient reads a tile's 32 columns from every row of the deltas; at a 2 KiB stride those rows
// fall in 4 of L1's 64 sets and evict each other (bench/PERF.md #30).
size_t delta_row_stride(size_t out, bool last);

// The row bounds of `shards` micro-shards of a batch of `rows` rows (rows <= batch_size):
// shard s is rows [s * batch_size / shards, (s + 1) * batch_size / shards) clipped to `rows`,
// so a shard's rows depend on batch_size and shards only, and a partial last batch leaves
// its last shards short or empty. shards + 1 entries.
std::vector<size_t> shard_bounds(size_t rows, size_t batch_size, size_t shards);

// Layers [first, last) of a model.
struct Layers {
  size_t first = 0, last = 0;
};

// The phases of a step. Each is called by every thread of a team with the same arguments and
// returns after a team sync, its outputs complete. The plain forms work on ws.input and
// ws.labels and on all layers; the others on a given batch and range of layers, for the
// training step's schedule (step.h).

// Layer outputs for the input rows [0, rows); the last layer's are logits.
void forward(const Mlp& model, Workspace& ws, size_t rows, const Team& team);
// Layers [first, last): `input` is read by layer 0 only (the others read the layer below).
void forward_layers(const Mlp& model, Workspace& ws, const float* input, size_t rows,
                    Layers layers, const Team& team);
// Per-sample losses and predictions; with `with_grad`, the last layer's delta (mean loss).
void loss_and_delta(const Mlp& model, Workspace& ws, size_t rows, bool with_grad,
                    const Team& team);
void loss_and_delta(const Mlp& model, Workspace& ws, const uint8_t* labels, size_t rows,
                    bool with_grad, const Team& team);
// The same with the delta scaled by 1 / global_rows: the rows here are part of a batch of
// global_rows rows shared between processes.
void loss_and_delta(const Mlp& model, Workspace& ws, const uint8_t* labels, size_t rows,
                    size_t global_rows, const Team& team);
// Every layer's weights transposed, for the input gradients of backward().
void transpose_weights(const Mlp& model, Workspace& ws, const Team& team);
// Parameter gradients into ws.grads (needs forward, loss_and_delta, transpose_weights), summed
// by ws.shard_bounds' shards when there are any.
void backward(const Mlp& model, Workspace& ws, size_t rows, const Team& team);
void backward(const Mlp& model, Workspace& ws, const float* input, size_t rows, const Team& team);
// The plain step, phase by phase, on ws.input and ws.labels: transpose_weights, forward,
// loss_and_delta (losses stay in ws.losses), then backward_and_update with `optimizer`, or
// backward alone (gradients in ws.grads) without one. The unscheduled reference that
// train_step (step.h) is bitwise equal to.
void reference_step(Mlp& model, Workspace& ws, size_t rows, Optimizer* optimizer, uint64_t t,
                    const Team& team);
// backward() and update `t` of `optimizer` on every parameter: fused into the weight-gradient
// GEMMs where the optimizer allows it (Adam: those gradients never reach memory), after them
// otherwise. Numbers are bitwise those of backward() then Optimizer::step().
void backward_and_update(Mlp& model, Workspace& ws, size_t rows, Optimizer& optimizer,
                         uint64_t t, const Team& team);
// The same for layers last-1 down to first (needs deltas[last - 1]; leaves deltas[first - 1]).
void backward_and_update_layers(Mlp& model, Workspace& ws, const float* input, size_t rows,
                                Layers layers, Optimizer& optimizer, uint64_t t,
                                const Team& team);

}  // namespace mlpbench
