// Analytic gradients of a small network against float64 central differences.
#include <catch2/catch.hpp>

#include <cmath>
#include <random>
#include <vector>

#include <cstring>

#include "mlpbench/model.h"
#include "mlpbench/optimizer.h"

namespace test_gradients {

using namespace mlpbench;
using enum Activation;

namespace {

// The mean softmax cross-entropy of `model` on the batch, computed in double precision.
double reference_loss(const Mlp& model, const std::vector<double>& params, const Workspace& ws,
                      size_t rows) {
  double total = 0;
  for (size_t r = 0; r < rows; ++r) {
    std::vector<double> x(ws.input.data() + r * model.inputs(),
                          ws.input.data() + (r + 1) * model.inputs());
    for (size_t l = 0; l < model.layers().size(); ++l) {
      const DenseLayer& layer = model.layers()[l];
      std::vector<double> y(layer.out);
      for (size_t j = 0; j < layer.out; ++j) {
        double acc = params[layer.bias_offset + j];
        for (size_t i = 0; i < layer.in; ++i) acc += x[i] * params[model.weight_index(l, i, j)];
        y[j] = layer.relu() ? std::max(acc, 0.0) : acc;
      }
      x = y;
    }
    double zmax = x[0];
    for (double z : x) zmax = std::max(zmax, z);
    double sum = 0;
    for (double z : x) sum += std::exp(z - zmax);
    total += std::log(sum) - (x[ws.labels[r]] - zmax);
  }
  return total / rows;
}

}  // namespace

// Every parameter's gradient from the engine against float64 central differences.
static void check_central_differences(size_t inputs, const std::vector<LayerSpec>& specs, size_t rows) {
  Mlp model(inputs, specs);
  model.init_glorot(3);
  Workspace ws(model, rows);
  std::mt19937 gen(17);
  std::uniform_real_distribution<float> dist(-1, 1);
  for (size_t i = 0; i < rows * model.inputs(); ++i) ws.input[i] = dist(gen);
  for (size_t r = 0; r < rows; ++r) ws.labels[r] = static_cast<uint8_t>(gen() % 4);
  for (size_t l = 0; l < specs.size(); ++l) {  // non-zero biases exercise their gradients too
    for (size_t j = 0; j < model.layers()[l].out; ++j) model.bias(l)[j] = 0.1f * dist(gen);
  }

  Team team({0, 1});
  reference_step(model, ws, rows, nullptr, 0, team);

  std::vector<double> params(model.params().begin(), model.params().end());
  double engine_loss = 0;
  for (size_t r = 0; r < rows; ++r) engine_loss += ws.losses[r];
  REQUIRE(engine_loss / rows == Approx(reference_loss(model, params, ws, rows)).epsilon(1e-5));

  size_t checked = 0;
  for (const DenseLayer& layer : model.layers()) {
    std::vector<size_t> indices;
    for (size_t i = 0; i < layer.in * layer.out; ++i) indices.push_back(layer.weights_offset + i);
    for (size_t j = 0; j < layer.out; ++j) indices.push_back(layer.bias_offset + j);
    for (size_t p : indices) {
      const double h = 1e-6, saved = params[p];
      params[p] = saved + h;
      const double up = reference_loss(model, params, ws, rows);
      params[p] = saved - h;
      const double down = reference_loss(model, params, ws, rows);
      params[p] = saved;
      const double numeric = (up - down) / (2 * h);
      INFO("parameter " << p << ": analytic " << ws.grads[p] << ", numeric " << numeric);
      REQUIRE(std::abs(ws.grads[p] - numeric) <= 1e-4 + 1e-3 * std::abs(numeric));
      ++checked;
    }
  }
  REQUIRE(checked == model.parameter_count());
}

TEST_CASE("backward matches float64 central differences", "[gradients]") {
  // 70 and 40 units: weights of several column panels, a partial last one, and panelled
  // weights above the first layer (its transpose feeds an input gradient).
  check_central_differences(9, {{70, kRelu}, {5, kLinear}, {40, kRelu}, {4, kSoftmax}}, 11);
}

TEST_CASE("backward matches float64 central differences with padded deltas", "[gradients]") {
  // 256 units: a 1 KiB row, so that layer's deltas are stored with a padded stride.
  REQUIRE(delta_row_stride(256, false) == 272);
  REQUIRE(delta_row_stride(512, false) == 528);
  REQUIRE(delta_row_stride(512, true) == 512);  // the last layer shares the logits' stride
  REQUIRE(delta_row_stride(70, false) == 70);
  Workspace ws(Mlp(5, {{256, kRelu}, {3, kSoftmax}}), 4);
  REQUIRE(ws.delta_ld == std::vector<size_t>{272, 3});
  check_central_differences(5, {{256, kRelu}, {3, kSoftmax}}, 7);
}

TEST_CASE("parameter and flop counts match the Keras reference model", "[gradients]") {
  Mlp model(784, {{512, kRelu}, {10, kSoftmax}});
  REQUIRE(model.parameter_count() == 407050);
  // 98.2 GFLOP per epoch of 60,000 samples (forward + dW of every layer + dX of layer 2 only).
  REQUIRE(model.training_flops_per_sample() * 60000 == Approx(98.18e9).epsilon(1e-3));
  model.init_glorot(1);
  const double limit = std::sqrt(6.0 / (784 + 512));
  float lo = 0, hi = 0;
  for (size_t i = 0; i < 784 * 512; ++i) lo = std::min(lo, model.weights(0)[i]), hi = std::max(hi, model.weights(0)[i]);
  REQUIRE(lo >= -limit);
  REQUIRE(hi <= limit);
  REQUIRE(hi > 0.99 * limit);
  for (size_t j = 0; j < 512; ++j) REQUIRE(model.bias(0)[j] == 0.0f);
}

TEST_CASE("weights convert between column panels and the Keras layout", "[gradients][model]") {
  Mlp model(5, {{70, kRelu}, {3, kSoftmax}});
  model.init_glorot(2);
  Mlp again(5, {{70, kRelu}, {3, kSoftmax}});
  for (size_t l = 0; l < 2; ++l) {
    const std::vector<float> rows = model.weight_rows(l);
    const DenseLayer& layer = model.layers()[l];
    for (size_t i = 0; i < layer.in; ++i) {
      for (size_t j = 0; j < layer.out; ++j) {
        REQUIRE(rows[i * layer.out + j] == model.params()[model.weight_index(l, i, j)]);
      }
    }
    again.set_weight_rows(l, rows.data());
  }
  REQUIRE(std::memcmp(again.params().data(), model.params().data(),
                      model.params().size() * sizeof(float)) == 0);
  // Panel 1 of layer 0 (units 32..63) starts right after panel 0's 5 x 32 block.
  REQUIRE(model.weight_index(0, 0, 32) == model.layers()[0].weights_offset + 5 * 32);
}

TEST_CASE("Adam fused into the weight-gradient GEMMs equals backward then a flat Adam step",
          "[gradients][optimizer]") {
  for (const OptimizerKind kind : {OptimizerKind::kAdam, OptimizerKind::kSgd}) {
    const std::vector<LayerSpec> specs = {{40, kRelu}, {17, kRelu}, {10, kSoftmax}};
    OptimizerSpec spec;
    spec.kind = kind;
    spec.momentum = 0.9;
    Mlp a(30, specs), b(30, specs);
    a.init_glorot(4);
    b.init_glorot(4);
    Optimizer opt_a(spec, a.params().size()), opt_b(spec, b.params().size());
    const size_t rows = 13;
    Workspace wa(a, rows), wb(b, rows);
    std::mt19937 gen(2);
    for (size_t i = 0; i < rows * 30; ++i) wa.input[i] = wb.input[i] = (gen() % 256) / 255.0f;
    for (size_t r = 0; r < rows; ++r) wa.labels[r] = wb.labels[r] = static_cast<uint8_t>(gen() % 10);
    Team team({0, 1});
    for (uint64_t t = 1; t <= 3; ++t) {
      reference_step(a, wa, rows, &opt_a, t, team);
      reference_step(b, wb, rows, nullptr, 0, team);
      opt_b.step(b.params().data(), wb.grads.data(), 0, b.params().size(), t, {0, 1});
    }
    INFO(optimizer_name(kind));
    REQUIRE(std::memcmp(a.params().data(), b.params().data(), a.params().size() * sizeof(float)) == 0);
  }
}

}  // namespace test_gradients
