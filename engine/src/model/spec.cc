#include "mlpbench/spec.h"

namespace mlpbench {

std::string_view activation_name(Activation a) {
  switch (a) {
    case Activation::kRelu: return "relu";
    case Activation::kLinear: return "linear";
    case Activation::kSoftmax: return "softmax";
  }
  return "?";
}

std::string_view optimizer_name(OptimizerKind k) {
  switch (k) {
    case OptimizerKind::kAdam: return "adam";
    case OptimizerKind::kSgd: return "sgd";
  }
  return "?";
}

std::string_view schedule_name(ScheduleKind k) {
  switch (k) {
    case ScheduleKind::kExponentialDecay: return "ExponentialDecay";
    case ScheduleKind::kPiecewiseConstantDecay: return "PiecewiseConstantDecay";
    case ScheduleKind::kCosineDecay: return "CosineDecay";
  }
  return "?";
}

}  // namespace mlpbench
