#pragma once
// What to build and how to update it, as decided once when an experiment is parsed
// (experiment.h): plain values and enums, so the numeric core needs no JSON and compares no
// strings.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace mlpbench {

enum class Activation { kRelu, kLinear, kSoftmax };  // softmax: the output layer only
enum class OptimizerKind { kAdam, kSgd };
// Keras' learning-rate schedules (keras.optimizers.schedules), by class.
enum class ScheduleKind { kExponentialDecay, kPiecewiseConstantDecay, kCosineDecay };

// The names experiment files and run logs use ("relu", "adam", ...).
std::string_view activation_name(Activation a);
std::string_view optimizer_name(OptimizerKind k);
std::string_view schedule_name(ScheduleKind k);  // Keras' class name, e.g. "CosineDecay"

// A schedule by its Keras parameter names; schedule.h says what rate it gives.
struct ScheduleSpec {
  ScheduleKind kind = ScheduleKind::kExponentialDecay;
  double initial_learning_rate = 0;  // ExponentialDecay, CosineDecay
  int64_t decay_steps = 0;           // ExponentialDecay, CosineDecay
  double decay_rate = 0;             // ExponentialDecay
  bool staircase = false;            // ExponentialDecay
  std::vector<int64_t> boundaries;   // PiecewiseConstantDecay (steps, increasing)
  std::vector<double> values;        // PiecewiseConstantDecay (one more than boundaries)
  double alpha = 0;                  // CosineDecay: the floor, a fraction of the initial rate
  std::optional<double> warmup_target;  // CosineDecay: the rate a linear warmup reaches
  int64_t warmup_steps = 0;             // CosineDecay

  bool operator==(const ScheduleSpec&) const = default;
};

struct LayerSpec {
  int units = 0;
  Activation activation = Activation::kRelu;

  bool operator==(const LayerSpec&) const = default;
};

struct OptimizerSpec {
  OptimizerKind kind = OptimizerKind::kAdam;
  double learning_rate = 1e-3;  // with a schedule: its rate at step 0
  double beta_1 = 0.9;        // adam
  double beta_2 = 0.999;      // adam
  double epsilon = 1e-7;      // adam
  double momentum = 0.0;      // sgd
  bool nesterov = false;      // sgd
  std::optional<ScheduleSpec> schedule;  // a learning-rate schedule instead of a constant rate

  bool operator==(const OptimizerSpec&) const = default;
};

}  // namespace mlpbench
