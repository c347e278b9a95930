#include "mlpbench/model.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "mlpbench/kernels.h"
#include "mlpbench/optimizer.h"
#include "mlpbench/rng.h"

namespace mlpbench {
namespace {

size_t align_floats(size_t n) {
  constexpr size_t kFloats = kAlignment / sizeof(float);
  return (n + kFloats - 1) / kFloats * kFloats;
}

}  // namespace

Mlp::Mlp(size_t inputs, const std::vector<LayerSpec>& specs) {
  if (specs.empty()) throw std::invalid_argument("an MLP needs at least one layer");
  size_t in = inputs, offset = 0;
  for (const LayerSpec& spec : specs) {
    DenseLayer layer;
    layer.in = in;
    layer.out = static_cast<size_t>(spec.units);
    layer.activation = spec.activation;
    layer.weights_offset = offset;
    offset += align_floats(layer.in * layer.out);
    layer.bias_offset = offset;
    offset += align_floats(layer.out);
    layers_.push_back(layer);
    in = layer.out;
  }
  params_.resize(offset);
}

size_t Mlp::parameter_count() const {
  size_t n = 0;
  for (const auto& l : layers_) n += l.in * l.out + l.out;
  return n;
}

void Mlp::init_glorot(uint64_t seed) {
  Rng rng(seed, kInitStream);
  params_.fill_zero();
  for (size_t l = 0; l < layers_.size(); ++l) {
    const DenseLayer& layer = layers_[l];
    const double limit = std::sqrt(6.0 / static_cast<double>(layer.in + layer.out));
    for (size_t i = 0; i < layer.in; ++i) {  // drawn in Keras order, whatever the storage
      for (size_t j = 0; j < layer.out; ++j) {
        params_[weight_index(l, i, j)] = static_cast<float>((2.0 * rng.uniform() - 1.0) * limit);
      }
    }
  }
}

size_t Mlp::weight_index(size_t l, size_t i, size_t j) const {
  const DenseLayer& layer = layers_[l];
  return layer.weights_offset + kernels::panel_index(i, j, layer.in, layer.out);
}

std::vector<float> Mlp::weight_rows(size_t l) const {
  const DenseLayer& layer = layers_[l];
  std::vector<float> rows(layer.in * layer.out);
  for (size_t i = 0; i < layer.in; ++i) {
    for (size_t j = 0; j < layer.out; ++j) rows[i * layer.out + j] = params_[weight_index(l, i, j)];
  }
  return rows;
}

void Mlp::set_weight_rows(size_t l, const float* rows) {
  const DenseLayer& layer = layers_[l];
  for (size_t i = 0; i < layer.in; ++i) {
    for (size_t j = 0; j < layer.out; ++j) params_[weight_index(l, i, j)] = rows[i * layer.out + j];
  }
}

double Mlp::inference_flops_per_sample() const {
  double madds = 0;
  for (const auto& l : layers_) madds += static_cast<double>(l.in) * l.out;
  return 2 * madds;
}

double Mlp::training_flops_per_sample() const {
  const double first = static_cast<double>(layers_[0].in) * layers_[0].out;
  return 3 * inference_flops_per_sample() - 2 * first;
}

size_t delta_row_stride(size_t out, bool last) {
  constexpr size_t kLineFloats = 64 / sizeof(float);
  return !last && out % 256 == 0 ? out + kLineFloats : out;
}

Workspace::Workspace(const Mlp& model, size_t rows, bool double_buffered) : max_rows(rows) {
  input.resize(rows * model.inputs());
  labels.resize(rows);
  if (double_buffered) {
    next_input.resize(rows * model.inputs());
    next_labels.resize(rows);
  }
  for (size_t l = 0; l < model.layers().size(); ++l) {
    const DenseLayer& layer = model.layers()[l];
    outputs.emplace_back(rows * layer.out);
    delta_ld.push_back(delta_row_stride(layer.out, l + 1 == model.layers().size()));
    deltas.emplace_back(rows * delta_ld.back());
    weights_t.emplace_back(l > 0 ? layer.in * layer.out : 0);
  }
  grads.resize(model.params().size());
  losses.resize(rows);
  predicted.resize(rows);
}

Batch Workspace::batch(size_t slot) {
  if (slot % 2 == 0 || next_input.empty()) return {input.data(), labels.data()};
  return {next_input.data(), next_labels.data()};
}

void forward_layers(const Mlp& model, Workspace& ws, const float* input, size_t rows,
                    Layers layers, const Team& team) {
  for (size_t l = layers.first; l < layers.last; ++l) {
    const DenseLayer& layer = model.layers()[l];
    const float* x = l == 0 ? input : ws.outputs[l - 1].data();  // [rows x in]
    kernels::GemmArgs g;
    g.m = rows, g.n = layer.out, g.k = layer.in;
    g.a = x, g.a_row_stride = layer.in, g.a_col_stride = 1;
    g.b = model.weights(l), g.b_panels = true;                 // W: [in x out], panels
    g.c = ws.outputs[l].data(), g.ldc = layer.out;            // y: [rows x out]
    g.bias = model.bias(l);
    g.relu = layer.relu();
    kernels::gemm(g, team.part());
    team.sync();
  }
}

void forward(const Mlp& model, Workspace& ws, size_t rows, const Team& team) {
  forward_layers(model, ws, ws.input.data(), rows, {0, model.layers().size()}, team);
}

std::vector<size_t> shard_bounds(size_t rows, size_t batch_size, size_t shards) {
  std::vector<size_t> bounds(shards + 1);
  for (size_t s = 0; s <= shards; ++s) bounds[s] = std::min(rows, s * batch_size / shards);
  return bounds;
}

namespace {

void loss_and_delta_scaled(const Mlp& model, Workspace& ws, const uint8_t* labels, size_t rows,
                           bool with_grad, size_t scale_rows, const Team& team) {
  const size_t last = model.layers().size() - 1, classes = model.outputs();
  kernels::softmax_xent(ws.outputs[last].data(), rows, classes, classes, labels,
                        1.0f / static_cast<float>(scale_rows),
                        with_grad ? ws.deltas[last].data() : nullptr, ws.losses.data(),
                        ws.predicted.data(), team.part());
  team.sync();
}

}  // namespace

void loss_and_delta(const Mlp& model, Workspace& ws, const uint8_t* labels, size_t rows,
                    bool with_grad, const Team& team) {
  loss_and_delta_scaled(model, ws, labels, rows, with_grad, rows, team);
}

void loss_and_delta(const Mlp& model, Workspace& ws, const uint8_t* labels, size_t rows,
                    size_t global_rows, const Team& team) {
  loss_and_delta_scaled(model, ws, labels, rows, /*with_grad=*/true, global_rows, team);
}

void loss_and_delta(const Mlp& model, Workspace& ws, size_t rows, bool with_grad,
                    const Team& team) {
  loss_and_delta(model, ws, ws.labels.data(), rows, with_grad, team);
}

void transpose_weights(const Mlp& model, Workspace& ws, const Team& team) {
  for (size_t l = 1; l < model.layers().size(); ++l) {
    const DenseLayer& layer = model.layers()[l];
    // Panel s, a row-major [in x width] block, transposed is rows [j0, j0 + width) of W^T.
    for (size_t j0 = 0; j0 < layer.out; j0 += kernels::kPanelCols) {
      const size_t width = std::min(kernels::kPanelCols, layer.out - j0);
      kernels::transpose(model.weights(l) + j0 * layer.in, layer.in, width,
                         ws.weights_t[l].data() + j0 * layer.in, team.part());
    }
  }
  team.sync();
}

namespace {

// Layers last-1 down to first: dW, db, and dx for the layer below, one sync per layer. With
// an optimizer, update `t` is applied as the gradients appear: fused into the dW GEMM where
// the optimizer allows (the gradient never reaches memory), and to the biases right after
// their column sums (column_sums and the optimizer kernels split a length-n array between
// threads identically, so each thread updates exactly the sums it computed: no sync needed).
// Returns whether weights are left to update (optimizers that do not fuse).
// With shards (ws.shard_bounds, even one) the biases' gradients are a GEMM too (a row of ones
// times dy, k cut by the same shards), so that they are summed by the shards' tree; the
// optimizer is then fused into it as well, or left for after the layers with the weights.
bool backward_layers(const Mlp& model, Workspace& ws, const float* input, size_t rows,
                     Layers layers, const Team& team, float* params, Optimizer* optimizer,
                     uint64_t t) {
  static const float kOne = 1.0f;
  const bool sharded = !ws.shard_bounds.empty();
  bool weights_left = false;
  for (size_t l = layers.last; l-- > layers.first;) {
    const DenseLayer& layer = model.layers()[l];
    const float* x = l == 0 ? input : ws.outputs[l - 1].data();  // [rows x in]
    const float* dy = ws.deltas[l].data();  // [rows x out], rows ws.delta_ld[l] apart
    const size_t ld_dy = ws.delta_ld[l];

    kernels::GemmArgs dw;  // dW = x^T . dy: [in x out] in panels like W, summed over the batch
    dw.m = layer.in, dw.n = layer.out, dw.k = rows;
    dw.a = x, dw.a_row_stride = 1, dw.a_col_stride = layer.in;
    dw.b = dy, dw.ldb = ld_dy;
    dw.c = ws.grads.data() + layer.weights_offset, dw.c_panels = true;
    if (sharded) {
      dw.k_shards = ws.shard_bounds.size() - 1;
      dw.k_bounds = ws.shard_bounds.data();
    }
    kernels::FusedAdam fused;
    if (optimizer && optimizer->fuse(params, layer.weights_offset, t, fused)) {
      dw.adam = &fused;
    } else {
      weights_left = optimizer != nullptr;
    }
    kernels::gemm(dw, team.part());

    float* db = ws.grads.data() + layer.bias_offset;
    if (sharded) {  // db = 1^T . dy: [1 x out]
      kernels::GemmArgs g;
      g.m = 1, g.n = layer.out, g.k = rows;
      g.a = &kOne, g.a_row_stride = 0, g.a_col_stride = 0;
      g.b = dy, g.ldb = ld_dy;
      g.c = db, g.ldc = layer.out;
      g.k_shards = dw.k_shards, g.k_bounds = dw.k_bounds;
      kernels::FusedAdam fused_bias;
      if (optimizer && optimizer->fuse(params, layer.bias_offset, t, fused_bias)) g.adam = &fused_bias;
      kernels::gemm(g, team.part());
    } else {
      kernels::column_sums(dy, rows, layer.out, ld_dy, db, team.part());
      if (optimizer) optimizer->step(params, ws.grads.data(), layer.bias_offset, layer.out, t, team.part());
    }

    if (l > 0) {  // dx = (dy . W^T) masked by ReLU' of x: [rows x in]
      const DenseLayer& below = model.layers()[l - 1];
      kernels::GemmArgs dx;
      dx.m = rows, dx.n = layer.in, dx.k = layer.out;
      dx.a = dy, dx.a_row_stride = ld_dy, dx.a_col_stride = 1;
      dx.b = ws.weights_t[l].data(), dx.ldb = layer.in;  // W^T from before this step's update
      dx.c = ws.deltas[l - 1].data(), dx.ldc = ws.delta_ld[l - 1];
      if (below.relu()) dx.mask = x, dx.ldmask = layer.in;
      kernels::gemm(dx, team.part());
    }
    team.sync();
  }
  return weights_left;
}

}  // namespace

void backward(const Mlp& model, Workspace& ws, size_t rows, const Team& team) {
  backward(model, ws, ws.input.data(), rows, team);
}

void backward(const Mlp& model, Workspace& ws, const float* input, size_t rows, const Team& team) {
  backward_layers(model, ws, input, rows, {0, model.layers().size()}, team, nullptr, nullptr, 0);
}

void backward_and_update_layers(Mlp& model, Workspace& ws, const float* input, size_t rows,
                                Layers layers, Optimizer& optimizer, uint64_t t,
                                const Team& team) {
  float* params = model.params().data();
  if (!backward_layers(model, ws, input, rows, layers, team, params, &optimizer, t)) return;
  const bool sharded = !ws.shard_bounds.empty();  // the biases were left too
  for (size_t l = layers.first; l < layers.last; ++l) {
    const DenseLayer& layer = model.layers()[l];
    optimizer.step(params, ws.grads.data(), layer.weights_offset, layer.in * layer.out, t,
                   team.part());
    if (sharded) optimizer.step(params, ws.grads.data(), layer.bias_offset, layer.out, t, team.part());
  }
  team.sync();
}

void backward_and_update(Mlp& model, Workspace& ws, size_t rows, Optimizer& optimizer,
                         uint64_t t, const Team& team) {
  backward_and_update_layers(model, ws, ws.input.data(), rows, {0, model.layers().size()},
                             optimizer, t, team);
}

void reference_step(Mlp& model, Workspace& ws, size_t rows, Optimizer* optimizer, uint64_t t,
                    const Team& team) {
  transpose_weights(model, ws, team);
  forward(model, ws, rows, team);
  loss_and_delta(model, ws, rows, /*with_grad=*/true, team);
  if (optimizer) {
    backward_and_update(model, ws, rows, *optimizer, t, team);
  } else {
    backward(model, ws, rows, team);
  }
}

}  // namespace mlpbench
