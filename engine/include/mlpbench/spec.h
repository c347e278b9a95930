#pragma once
// What to build and how to update it, as decided once when an experiment is parsed
// (experiment.h): plain values and enums, so the numeric core needs no JSON and compares no
// strings.
#include <string_view>

namespace mlpbench {

enum class Activation { kRelu, kLinear, kSoftmax };  // softmax: the output layer only
enum class OptimizerKind { kAdam, kSgd };

// The names experiment files and run logs use ("relu", "adam", ...).
std::string_view activation_name(Activation a);
std::string_view optimizer_name(OptimizerKind k);

struct LayerSpec {
  int units = 0;
  Activation activation = Activation::kRelu;

  bool operator==(const LayerSpec&) const = default;
};

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::kAdam;
  double learning_rate = 1e-3;
  double beta_1 = 0.9;        // adam
  double beta_2 = 0.999;      // adam
  double epsilon = 1e-7;      // adam
  double momentum = 0.0;      // sgd
  bool nesterov = false;      // sgd

  bool operator==(const OptimizerSpec&) const = default;
};

}  // namespace mlpbench
