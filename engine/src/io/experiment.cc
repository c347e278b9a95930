// Experiment files: parsing, validation and the resolved form a run log records.
//
// Every error is a ConfigError whose message reads
//   <source>: <JSON pointer>: expected <what>, got <value as JSON>
// so a user can find the field without reading code. Parsing and validate_experiment() share
// the range checks below, so a command-line override is held to the same rules as the file.
#include "mlpbench/experiment.h"

#include "io/input_file.h"
#include "mlpbench/json_errors.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

#include "mlpbench/errors.h"
#include "mlpbench/schedule.h"
#include "mlpbench/kernels.h"

namespace mlpbench {
namespace {

using json = nlohmann::json;

// Both datasets: 28x28 images, 10 classes.
constexpr int kNumClasses = 10;

constexpr size_t kMaxLayers = 64;
constexpr uint64_t kMaxParameters = uint64_t{1} << 31;
constexpr size_t kMaxNameLength = 128;
constexpr int kMaxJsonDepth = 64;               // an experiment needs 3
constexpr uintmax_t kMaxExperimentBytes = 16u << 20;  // an experiment needs a few hundred bytes

using Checker = JsonChecker;  // messages "<source>: <JSON pointer>: ..." (json_errors.h)

// ---------------------------------------------------------------------------------------------
// Rules shared by parsing and validate_experiment()

struct IntRule {
  int64_t lo, hi;
  const char* note = "";
  std::string describe() const {
    return "an integer from " + std::to_string(lo) + " to " + std::to_string(hi) + note;
  }
};

const IntRule kEpochsRule{1, 100000};
const IntRule kBatchSizeRule{1, 65536};
const IntRule kThreadsRule{0, 1024, " (0 = all cores)"};
const IntRule kShardsRule{1, static_cast<int64_t>(kernels::kMaxKShards), " (a power of two)"};
const IntRule kUnitsRule{1, 65536};
const std::string kSeedDescription = "an integer from 0 to 18446744073709551615";

struct NumberRule {
  double lo, hi;
  bool lo_open, hi_open;
  std::string what;        // said when the value is not a number or below the range
  std::string what_above;  // said when it is above the range (defaults to `what`)
  std::string what_tiny = "";  // said for a positive value below the range (defaults to `what`)
  bool ok(double v) const {
    return std::isfinite(v) && (lo_open ? v > lo : v >= lo) && (hi_open ? v < hi : v <= hi);
  }
};

constexpr double kInf = std::numeric_limits<double>::infinity();
// Training computes in float32: a positive double below the smallest normal float32 would be
// zero or a denormal there (an epsilon of 1e-320 makes Adam divide 0 by 0).
constexpr double kMinFloat = std::numeric_limits<float>::min();
const std::string kTinyText = "a positive number of at least 1.17549e-38 (the smallest normal "
                              "float32; training computes in float32)";
const NumberRule kLearningRateRule{
    kMinFloat, 10, false, false, "a positive number", "a positive number no greater than 10", kTinyText};
// CosineDecay may start from 0 and warm up (Keras' own example does).
const NumberRule kScheduleStartRule{0, 10, false, false, "a number in [0, 10]", ""};
const NumberRule kBetaRule{0, 1, false, true, "a number in [0, 1)", ""};
const NumberRule kEpsilonRule{kMinFloat, kInf, false, true, "a positive number", "", kTinyText};
const NumberRule kMomentumRule{0, 1, false, true, "a number in [0, 1)", ""};
const NumberRule kAccuracyRule{0, 1, false, false, "a number in [0, 1]", ""};
const NumberRule kValidationSplitRule{0, 1, false, true, "a number in [0, 1)", ""};
const NumberRule kTargetRule{0, 1, true, false, "a number in (0, 1]", ""};
const NumberRule kDecayRateRule{0, kInf, true, true, "a positive number", ""};
const NumberRule kAlphaRule{0, 1, false, false, "a number in [0, 1]", ""};
const NumberRule kMinDeltaRule{-kInf, kInf, true, true, "a number", ""};
const NumberRule kAnyNumberRule{-kInf, kInf, true, true, "a number", ""};
const NumberRule kFactorRule{0, 1, false, true, "a number in [0, 1) (Keras refuses a factor >= 1)", ""};
const NumberRule kMinLrRule{0, 10, false, false, "a number in [0, 10]", ""};
const IntRule kStepsRule{1, int64_t{1} << 40};
const IntRule kWarmupStepsRule{0, int64_t{1} << 40};
const IntRule kBoundaryRule{0, int64_t{1} << 40};
const IntRule kPatienceRule{0, 100000};

const std::vector<std::string> kDatasets = {"mnist", "fashion-mnist"};
const std::vector<std::string> kLosses = {"sparse_categorical_crossentropy",
                                          "categorical_crossentropy"};
std::string name_of(Activation a) { return std::string(activation_name(a)); }
std::string name_of(OptimizerKind k) { return std::string(optimizer_name(k)); }

// In enum order: a validated name's index is its enum value.
const std::vector<std::string> kOptimizers = {name_of(OptimizerKind::kAdam),
                                              name_of(OptimizerKind::kSgd)};
const std::vector<std::string> kActivations = {
    name_of(Activation::kRelu), name_of(Activation::kLinear), name_of(Activation::kSoftmax)};

template <typename Enum>
Enum enum_of(const std::string& name, const std::vector<std::string>& names) {
  return static_cast<Enum>(std::find(names.begin(), names.end(), name) - names.begin());
}

const std::vector<std::string> kTopKeys = {
    "name",    "description", "dataset",          "model",     "loss",
    "optimizer", "epochs",    "batch_size",       "shuffle",   "seed",
    "threads", "shards", "reference",   "validation_split", "callbacks", "target_accuracy",
    "target_metric", "$schema"};  // "$schema": the file's JSON Schema, for editors; not read
const std::vector<std::string> kSchedules = {  // in ScheduleKind's order
    std::string(schedule_name(ScheduleKind::kExponentialDecay)),
    std::string(schedule_name(ScheduleKind::kPiecewiseConstantDecay)),
    std::string(schedule_name(ScheduleKind::kCosineDecay))};
const std::vector<std::string> kScheduleKeys = {"class_name", "config"};
const std::vector<std::string> kExponentialKeys = {"initial_learning_rate", "decay_steps",
                                                   "decay_rate", "staircase", "name"};
const std::vector<std::string> kPiecewiseKeys = {"boundaries", "values", "name"};
const std::vector<std::string> kCosineKeys = {"initial_learning_rate", "decay_steps", "alpha",
                                              "warmup_target", "warmup_steps", "name"};
const std::vector<std::string> kCallbackNames = {"early_stopping", "reduce_lr_on_plateau"};
const std::vector<std::string> kEarlyStoppingKeys = {
    "monitor", "min_delta", "patience", "mode", "baseline", "restore_best_weights",
    "start_from_epoch"};
const std::vector<std::string> kReduceLrKeys = {"monitor", "factor",   "patience", "mode",
                                                "min_delta", "cooldown", "min_lr"};
const std::vector<std::string> kMonitors = {"loss", "accuracy", "val_loss", "val_accuracy"};
const std::vector<std::string> kModes = {"auto", "min", "max"};
const std::vector<std::string> kTargetMetrics = {"val_accuracy", "test_accuracy"};
const std::vector<std::string> kAdamKeys = {"name", "learning_rate", "beta_1", "beta_2", "epsilon"};
const std::vector<std::string> kSgdKeys = {"name", "learning_rate", "momentum", "nesterov"};
const std::vector<std::string> kLayerKeys = {"units", "activation"};
const std::vector<std::string> kReferenceKeys = {"test_accuracy", "source"};

const std::string kNameDescription =
    "a name usable as a folder name: 1 to 128 characters from A-Z a-z 0-9 _ . - "
    "(and not \".\" or \"..\")";

void check_int(const Checker& ck, const std::string& path, int64_t v, const IntRule& rule,
               const json& shown) {
  if (v < rule.lo || v > rule.hi) ck.expected(path, rule.describe(), shown);
}

// Shards cut a batch by a pairwise tree: a power of two, and no more than the batch's rows.
void check_shards(const Checker& ck, const Experiment& e) {
  if ((e.shards & (e.shards - 1)) != 0) ck.expected("/shards", kShardsRule.describe(), json(e.shards));
  if (e.shards > e.batch_size) {
    ck.fail("/shards", std::to_string(e.shards) + " shards need a batch of at least as many rows (batch_size is " +
                           std::to_string(e.batch_size) + ")");
  }
}

void check_number(const Checker& ck, const std::string& path, double v, const NumberRule& rule,
                  const json& shown) {
  if (rule.ok(v)) return;
  const bool above = std::isfinite(v) && (rule.hi_open ? v >= rule.hi : v > rule.hi);
  const bool tiny = std::isfinite(v) && v > 0 && v < rule.lo;
  ck.expected(path, above && !rule.what_above.empty() ? rule.what_above
                    : tiny && !rule.what_tiny.empty() ? rule.what_tiny
                                                      : rule.what, shown);
}

void check_choice(const Checker& ck, const std::string& path, const std::string& v,
                  const std::vector<std::string>& choices) {
  if (std::find(choices.begin(), choices.end(), v) != choices.end()) return;
  std::string what = "expected " + quoted_choices(choices) + ", got " + json_excerpt(json(v));
  const std::string hint = closest_match(v, choices);
  if (!hint.empty()) what += " (did you mean " + json_text(json(hint)) + "?)";
  ck.fail(path, what);
}

void check_name(const Checker& ck, const std::string& path, const std::string& name) {
  const bool chars_ok = std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
  if (name.empty() || name.size() > kMaxNameLength || !chars_ok || name == "." || name == "..") {
    ck.expected(path, kNameDescription, json(name));
  }
}

void check_layer_count(const Checker& ck, size_t layers) {
  if (layers == 0) ck.fail("/model", "expected a non-empty array of layers, got []");
  if (layers > kMaxLayers) {
    ck.fail("/model", "expected at most " + std::to_string(kMaxLayers) + " layers, got " +
                          std::to_string(layers));
  }
}

// The whole model: layer count, activations, the output layer and the parameter count.
// Layer units are range-checked here too, so validate_experiment() covers everything.
void check_model(const Checker& ck, const std::vector<LayerSpec>& model,
                 const std::string& dataset) {
  check_layer_count(ck, model.size());
  uint64_t parameters = 0;
  uint64_t in = kExperimentInputs;
  for (size_t i = 0; i < model.size(); ++i) {
    const std::string path = json_pointer("/model", i);
    const LayerSpec& layer = model[i];
    check_int(ck, json_pointer(path, "units"), layer.units, kUnitsRule, json(layer.units));
    const bool last = i + 1 == model.size();
    if (!last && layer.activation == Activation::kSoftmax) {
      ck.fail(json_pointer(path, "activation"),
              "\"softmax\" is only allowed on the output layer (the last one); hidden layers "
              "take \"relu\" or \"linear\"");
    }
    if (last && layer.activation != Activation::kSoftmax) {
      ck.fail(json_pointer(path, "activation"), "the output layer must use \"softmax\", got " +
                                             json_excerpt(json(name_of(layer.activation))));
    }
    if (last && layer.units != kNumClasses) {
      ck.fail(json_pointer(path, "units"), "the output layer must have " + std::to_string(kNumClasses) +
                                        " units (one per class of " + dataset + "), got " +
                                        std::to_string(layer.units));
    }
    // Weights in*out plus biases out. Units are at most 65536 here, but stay overflow-safe.
    const uint64_t out = static_cast<uint64_t>(layer.units);
    uint64_t weights = 0, layer_total = 0;
    if (__builtin_mul_overflow(in, out, &weights) ||
        __builtin_add_overflow(weights, out, &layer_total) ||
        __builtin_add_overflow(parameters, layer_total, &parameters)) {
      parameters = std::numeric_limits<uint64_t>::max();
    }
    in = out;
  }
  if (parameters > kMaxParameters) {
    ck.fail("/model", "expected at most " + std::to_string(kMaxParameters) +
                          " (2^31) parameters in total, got " + std::to_string(parameters));
  }
}

void check_optimizer(const Checker& ck, const OptimizerSpec& o) {
  if (!o.schedule) {  // a schedule is checked by its parameters
    check_number(ck, "/optimizer/learning_rate", o.learning_rate, kLearningRateRule,
                 json(o.learning_rate));
  }
  if (o.kind == OptimizerKind::kAdam) {
    check_number(ck, "/optimizer/beta_1", o.beta_1, kBetaRule, json(o.beta_1));
    check_number(ck, "/optimizer/beta_2", o.beta_2, kBetaRule, json(o.beta_2));
    check_number(ck, "/optimizer/epsilon", o.epsilon, kEpsilonRule, json(o.epsilon));
  } else {
    check_number(ck, "/optimizer/momentum", o.momentum, kMomentumRule, json(o.momentum));
  }
}

void check_schedule(const Checker& ck, const ScheduleSpec& s) {
  const std::string path = "/optimizer/learning_rate";
  const std::string config = json_pointer(path, "config");
  if (s.kind == ScheduleKind::kPiecewiseConstantDecay) {
    if (s.values.size() != s.boundaries.size() + 1) {
      ck.fail(json_pointer(config, "values"), "expected one more value than boundaries (" +
                                           std::to_string(s.boundaries.size()) + " boundaries, " +
                                           std::to_string(s.values.size()) + " values)");
    }
    for (size_t i = 0; i < s.boundaries.size(); ++i) {
      check_int(ck, json_pointer(json_pointer(config, "boundaries"), i), s.boundaries[i], kBoundaryRule,
                json(s.boundaries[i]));
      if (i > 0 && s.boundaries[i] <= s.boundaries[i - 1]) {
        ck.fail(json_pointer(json_pointer(config, "boundaries"), i),
                "expected boundaries in increasing order, got " + json_excerpt(json(s.boundaries)));
      }
    }
    for (size_t i = 0; i < s.values.size(); ++i) {
      check_number(ck, json_pointer(json_pointer(config, "values"), i), s.values[i], kLearningRateRule,
                   json(s.values[i]));
    }
    return;
  }
  check_number(ck, json_pointer(config, "initial_learning_rate"), s.initial_learning_rate,
               s.kind == ScheduleKind::kCosineDecay ? kScheduleStartRule : kLearningRateRule,
               json(s.initial_learning_rate));
  check_int(ck, json_pointer(config, "decay_steps"), s.decay_steps, kStepsRule, json(s.decay_steps));
  if (s.kind == ScheduleKind::kExponentialDecay) {
    check_number(ck, json_pointer(config, "decay_rate"), s.decay_rate, kDecayRateRule,
                 json(s.decay_rate));
  } else {
    check_number(ck, json_pointer(config, "alpha"), s.alpha, kAlphaRule, json(s.alpha));
    check_int(ck, json_pointer(config, "warmup_steps"), s.warmup_steps, kWarmupStepsRule,
              json(s.warmup_steps));
    if (s.warmup_target) {
      check_number(ck, json_pointer(config, "warmup_target"), *s.warmup_target, kLearningRateRule,
                   json(*s.warmup_target));
    }
    if (s.initial_learning_rate == 0 && (!s.warmup_target || s.warmup_steps == 0)) {
      ck.fail(json_pointer(config, "initial_learning_rate"),
              "0 without a warmup (warmup_target and warmup_steps) is a rate of 0 throughout: nothing would be learned");
    }
  }
}

// The monitored quantity must exist: val_* only with a validation split.
void check_monitor(const Checker& ck, const std::string& path, const std::string& monitor,
                   double validation_split) {
  check_choice(ck, path, monitor, kMonitors);
  if (monitor.rfind("val_", 0) == 0 && validation_split == 0) {
    ck.fail(path, "\"" + monitor + "\" needs a validation set: set \"validation_split\" (e.g. 0.1)");
  }
}

// The keys of issue 16 and how they combine with the rest.
// The keys EarlyStopping and ReduceLROnPlateau share (at `p`): what they watch, how patiently.
template <class Spec>
void check_plateau_keys(const Checker& ck, const std::string& p, const Spec& s, double validation_split) {
  check_monitor(ck, json_pointer(p, "monitor"), s.monitor, validation_split);
  check_choice(ck, json_pointer(p, "mode"), s.mode, kModes);
  check_number(ck, json_pointer(p, "min_delta"), s.min_delta, kMinDeltaRule, json(s.min_delta));
  check_int(ck, json_pointer(p, "patience"), s.patience, kPatienceRule, json(s.patience));
}

void check_training_extras(const Checker& ck, const Experiment& e) {
  check_number(ck, "/validation_split", e.validation_split, kValidationSplitRule,
               json(e.validation_split));
  if (e.optimizer.schedule) check_schedule(ck, *e.optimizer.schedule);
  if (const auto& es = e.callbacks.early_stopping) {
    const std::string p = "/callbacks/early_stopping";
    check_plateau_keys(ck, p, *es, e.validation_split);
    check_int(ck, json_pointer(p, "start_from_epoch"), es->start_from_epoch, kPatienceRule,
              json(es->start_from_epoch));
    if (es->baseline) {
      check_number(ck, json_pointer(p, "baseline"), *es->baseline, kAnyNumberRule, json(*es->baseline));
    }
  }
  if (const auto& r = e.callbacks.reduce_lr_on_plateau) {
    const std::string p = "/callbacks/reduce_lr_on_plateau";
    check_plateau_keys(ck, p, *r, e.validation_split);
    check_number(ck, json_pointer(p, "factor"), r->factor, kFactorRule, json(r->factor));
    check_int(ck, json_pointer(p, "cooldown"), r->cooldown, kPatienceRule, json(r->cooldown));
    check_number(ck, json_pointer(p, "min_lr"), r->min_lr, kMinLrRule, json(r->min_lr));
    if (e.optimizer.schedule) {
      // Keras refuses it too: a schedule's rate is not settable.
      ck.fail(p, "cannot be combined with a learning-rate schedule (/optimizer/learning_rate): "
                 "the schedule sets the rate at every step");
    }
  }
  if (e.target_accuracy) {
    check_number(ck, "/target_accuracy", *e.target_accuracy, kTargetRule,
                 json(*e.target_accuracy));
    check_choice(ck, "/target_metric", e.target_metric, kTargetMetrics);
    if (e.target_metric == "val_accuracy" && e.validation_split == 0) {
      ck.fail("/target_metric",
              "\"val_accuracy\" needs a validation set: set \"validation_split\" (e.g. 0.1)");
    }
  } else if (!e.target_metric.empty()) {
    ck.fail("/target_metric", "given without \"target_accuracy\"");
  }
}

// ---------------------------------------------------------------------------------------------
// Reading JSON values (type checks; the range checks above follow)

const json* member(const json& obj, const std::string& key) {
  const auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

const json& required(const Checker& ck, const json& obj, const std::string& path,
                     const std::string& what) {
  // `path` is the missing key's own path; its last segment is the key.
  const std::string key = path.substr(path.rfind('/') + 1);
  const json* v = member(obj, key);
  if (!v) ck.fail(path, "required key is missing (expected " + what + ")");
  return *v;
}

int64_t read_int(const Checker& ck, const std::string& path, const json& v, const IntRule& rule) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(rule.hi)) ck.expected(path, rule.describe(), v);
    check_int(ck, path, static_cast<int64_t>(u), rule, v);
    return static_cast<int64_t>(u);
  }
  if (!v.is_number_integer()) ck.expected(path, rule.describe(), v);
  const int64_t i = v.get<int64_t>();
  check_int(ck, path, i, rule, v);
  return i;
}

uint64_t read_seed(const Checker& ck, const std::string& path, const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0)
    return static_cast<uint64_t>(v.get<int64_t>());
  ck.expected(path, kSeedDescription, v);
}

double read_number(const Checker& ck, const std::string& path, const json& v,
                   const NumberRule& rule) {
  if (!v.is_number()) ck.expected(path, rule.what, v);
  const double d = v.get<double>();
  check_number(ck, path, d, rule, v);
  return d;
}

bool read_bool(const Checker& ck, const std::string& path, const json& v) {
  if (!v.is_boolean()) ck.expected(path, "true or false", v);
  return v.get<bool>();
}

std::string read_string(const Checker& ck, const std::string& path, const json& v,
                        const std::string& what) {
  if (!v.is_string()) ck.expected(path, what, v);
  return v.get<std::string>();
}

std::string read_choice(const Checker& ck, const std::string& path, const json& v,
                        const std::vector<std::string>& choices) {
  std::string s = read_string(ck, path, v, quoted_choices(choices));
  check_choice(ck, path, s, choices);
  return s;
}

std::vector<LayerSpec> read_model(const Checker& ck, const json& v, const std::string& dataset) {
  const std::string path = "/model";
  if (!v.is_array() || v.empty()) {
    ck.expected(path,
                "a non-empty array of layers like [{\"units\": 10, \"activation\": "
                "\"softmax\"}]",
                v);
  }
  std::vector<LayerSpec> model;
  check_layer_count(ck, v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string layer_path = json_pointer(path, i);
    const json& layer = v[i];
    if (!layer.is_object()) {
      ck.expected(layer_path, "a layer object like {\"units\": 64, \"activation\": \"relu\"}",
                  layer);
    }
    ck.check_keys(layer, layer_path, kLayerKeys);
    LayerSpec spec;
    spec.units = static_cast<int>(read_int(
        ck, json_pointer(layer_path, "units"),
        required(ck, layer, json_pointer(layer_path, "units"), kUnitsRule.describe()), kUnitsRule));
    spec.activation = enum_of<Activation>(
        read_choice(ck, json_pointer(layer_path, "activation"),
                    required(ck, layer, json_pointer(layer_path, "activation"),
                             quoted_choices(kActivations)),
                    kActivations),
        kActivations);
    model.push_back(spec);
  }
  check_model(ck, model, dataset);
  return model;
}

ScheduleSpec read_schedule(const Checker& ck, const json& v);  // below

OptimizerSpec read_optimizer(const Checker& ck, const json& v) {
  const std::string path = "/optimizer";
  OptimizerSpec o;
  const std::string what =
      "\"adam\" or \"sgd\", or an object like {\"name\": \"adam\", "
      "\"learning_rate\": 0.001}";
  if (v.is_string()) {
    o.kind = enum_of<OptimizerKind>(read_choice(ck, path, v, kOptimizers), kOptimizers);
  } else if (v.is_object()) {
    std::vector<std::string> all = kAdamKeys;
    for (const auto& k : kSgdKeys) {
      if (std::find(all.begin(), all.end(), k) == all.end()) all.push_back(k);
    }
    ck.check_keys(v, path, all);
    o.kind = enum_of<OptimizerKind>(
        read_choice(ck, json_pointer(path, "name"),
                    required(ck, v, json_pointer(path, "name"), quoted_choices(kOptimizers)), kOptimizers),
        kOptimizers);
    const bool adam = o.kind == OptimizerKind::kAdam;
    const auto& own = adam ? kAdamKeys : kSgdKeys;
    const std::string mine = name_of(o.kind), other = adam ? "sgd" : "adam";
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (std::find(own.begin(), own.end(), it.key()) != own.end()) continue;
      ck.fail(json_pointer(path, it.key()), "unknown key for the " + mine + " optimizer (\"" + it.key() +
                                         "\" belongs to " + other + "; " + mine +
                                         " takes: " + comma_list(own) + ")");
    }
  } else {
    ck.expected(path, what, v);
  }
  if (o.kind == OptimizerKind::kSgd) o.learning_rate = 0.01;  // Keras SGD default
  if (!v.is_object()) return o;
  if (const json* lr = member(v, "learning_rate")) {
    if (lr->is_object()) {
      o.schedule = read_schedule(ck, *lr);
      o.learning_rate = schedule_rate(*o.schedule, 0);
    } else {
      o.learning_rate = read_number(ck, json_pointer(path, "learning_rate"), *lr, kLearningRateRule);
    }
  }
  if (o.kind == OptimizerKind::kAdam) {
    if (const json* b = member(v, "beta_1"))
      o.beta_1 = read_number(ck, json_pointer(path, "beta_1"), *b, kBetaRule);
    if (const json* b = member(v, "beta_2"))
      o.beta_2 = read_number(ck, json_pointer(path, "beta_2"), *b, kBetaRule);
    if (const json* e = member(v, "epsilon")) {
      o.epsilon = read_number(ck, json_pointer(path, "epsilon"), *e, kEpsilonRule);
    }
  } else {
    if (const json* m = member(v, "momentum")) {
      o.momentum = read_number(ck, json_pointer(path, "momentum"), *m, kMomentumRule);
    }
    if (const json* n = member(v, "nesterov"))
      o.nesterov = read_bool(ck, json_pointer(path, "nesterov"), *n);
  }
  return o;
}

std::vector<int64_t> read_int_list(const Checker& ck, const std::string& path, const json& v,
                                   const IntRule& rule) {
  if (!v.is_array()) ck.expected(path, "an array of integers", v);
  std::vector<int64_t> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(read_int(ck, json_pointer(path, i), v[i], rule));
  return out;
}

std::vector<double> read_number_list(const Checker& ck, const std::string& path, const json& v,
                                     const NumberRule& rule) {
  if (!v.is_array() || v.empty()) ck.expected(path, "a non-empty array of numbers", v);
  std::vector<double> out;
  for (size_t i = 0; i < v.size(); ++i) out.push_back(read_number(ck, json_pointer(path, i), v[i], rule));
  return out;
}

// Keras' serialized form: {"class_name": "CosineDecay", "config": {"initial_learning_rate": ...}}.
ScheduleSpec read_schedule(const Checker& ck, const json& v) {
  const std::string path = "/optimizer/learning_rate";
  ck.check_keys(v, path, kScheduleKeys);
  ScheduleSpec s;
  s.kind = enum_of<ScheduleKind>(
      read_choice(ck, json_pointer(path, "class_name"),
                  required(ck, v, json_pointer(path, "class_name"), quoted_choices(kSchedules)),
                  kSchedules),
      kSchedules);
  const std::string cpath = json_pointer(path, "config");
  const json& c = required(ck, v, cpath, "an object of the schedule's Keras parameters");
  if (!c.is_object()) ck.expected(cpath, "an object of the schedule's Keras parameters", c);
  const auto& keys = s.kind == ScheduleKind::kExponentialDecay         ? kExponentialKeys
                     : s.kind == ScheduleKind::kPiecewiseConstantDecay ? kPiecewiseKeys
                                                                       : kCosineKeys;
  ck.check_keys(c, cpath, keys);
  if (const json* n = member(c, "name")) read_string(ck, json_pointer(cpath, "name"), *n, "a string");
  if (s.kind == ScheduleKind::kPiecewiseConstantDecay) {
    s.boundaries = read_int_list(ck, json_pointer(cpath, "boundaries"),
                                 required(ck, c, json_pointer(cpath, "boundaries"), "an array of steps"),
                                 kBoundaryRule);
    s.values = read_number_list(ck, json_pointer(cpath, "values"),
                                required(ck, c, json_pointer(cpath, "values"), "an array of rates"),
                                kLearningRateRule);
    return s;
  }
  const NumberRule& start =
      s.kind == ScheduleKind::kCosineDecay ? kScheduleStartRule : kLearningRateRule;
  s.initial_learning_rate =
      read_number(ck, json_pointer(cpath, "initial_learning_rate"),
                  required(ck, c, json_pointer(cpath, "initial_learning_rate"), start.what), start);
  s.decay_steps = read_int(ck, json_pointer(cpath, "decay_steps"),
                           required(ck, c, json_pointer(cpath, "decay_steps"), kStepsRule.describe()),
                           kStepsRule);
  if (s.kind == ScheduleKind::kExponentialDecay) {
    s.decay_rate = read_number(ck, json_pointer(cpath, "decay_rate"),
                               required(ck, c, json_pointer(cpath, "decay_rate"), kDecayRateRule.what),
                               kDecayRateRule);
    if (const json* b = member(c, "staircase")) s.staircase = read_bool(ck, json_pointer(cpath, "staircase"), *b);
    return s;
  }
  if (const json* a = member(c, "alpha")) s.alpha = read_number(ck, json_pointer(cpath, "alpha"), *a, kAlphaRule);
  if (const json* w = member(c, "warmup_target"); w && !w->is_null()) {
    s.warmup_target = read_number(ck, json_pointer(cpath, "warmup_target"), *w, kLearningRateRule);
  }
  if (const json* w = member(c, "warmup_steps")) {
    s.warmup_steps = read_int(ck, json_pointer(cpath, "warmup_steps"), *w, kWarmupStepsRule);
  }
  return s;
}

double read_optional_number(const Checker& ck, const json& obj, const std::string& path,
                            const NumberRule& rule, double fallback) {
  const json* v = member(obj, path.substr(path.rfind('/') + 1));
  return v ? read_number(ck, path, *v, rule) : fallback;
}

int read_optional_int(const Checker& ck, const json& obj, const std::string& path,
                      const IntRule& rule, int fallback) {
  const json* v = member(obj, path.substr(path.rfind('/') + 1));
  return v ? static_cast<int>(read_int(ck, path, *v, rule)) : fallback;
}

std::string read_optional_choice(const Checker& ck, const json& obj, const std::string& path,
                                 const std::vector<std::string>& choices, std::string fallback) {
  const json* v = member(obj, path.substr(path.rfind('/') + 1));
  return v ? read_choice(ck, path, *v, choices) : fallback;
}

// The object of callback `name` (its Keras class `keras_class`) with its keys checked; its pointer.
std::string callback_object(const Checker& ck, const json& obj, const std::string& name, const std::string& keras_class,
                            const std::vector<std::string>& keys) {
  const std::string p = json_pointer("/callbacks", name);
  if (!obj.is_object()) ck.expected(p, "an object of " + keras_class + "'s Keras parameters", obj);
  ck.check_keys(obj, p, keys);
  return p;
}

// The keys EarlyStopping and ReduceLROnPlateau share: what they watch, and how patiently.
template <class Spec>
void read_plateau_keys(const Checker& ck, const json& obj, const std::string& p, Spec& s) {
  s.monitor = read_optional_choice(ck, obj, json_pointer(p, "monitor"), kMonitors, s.monitor);
  s.min_delta = read_optional_number(ck, obj, json_pointer(p, "min_delta"), kMinDeltaRule, s.min_delta);
  s.patience = read_optional_int(ck, obj, json_pointer(p, "patience"), kPatienceRule, s.patience);
  s.mode = read_optional_choice(ck, obj, json_pointer(p, "mode"), kModes, s.mode);
}

CallbacksSpec read_callbacks(const Checker& ck, const json& v) {
  const std::string path = "/callbacks";
  const std::string what =
      "an object like {\"early_stopping\": {\"patience\": 3}, \"reduce_lr_on_plateau\": {}}";
  if (!v.is_object()) ck.expected(path, what, v);
  ck.check_keys(v, path, kCallbackNames);
  CallbacksSpec c;
  if (const json* es = member(v, "early_stopping")) {
    const std::string p = callback_object(ck, *es, "early_stopping", "EarlyStopping", kEarlyStoppingKeys);
    EarlyStoppingSpec s;
    read_plateau_keys(ck, *es, p, s);
    if (const json* b = member(*es, "baseline"); b && !b->is_null()) {
      s.baseline = read_number(ck, json_pointer(p, "baseline"), *b, kAnyNumberRule);
    }
    if (const json* r = member(*es, "restore_best_weights")) {
      s.restore_best_weights = read_bool(ck, json_pointer(p, "restore_best_weights"), *r);
    }
    s.start_from_epoch =
        read_optional_int(ck, *es, json_pointer(p, "start_from_epoch"), kPatienceRule, s.start_from_epoch);
    c.early_stopping = s;
  }
  if (const json* r = member(v, "reduce_lr_on_plateau")) {
    const std::string p = callback_object(ck, *r, "reduce_lr_on_plateau", "ReduceLROnPlateau", kReduceLrKeys);
    ReduceLrOnPlateauSpec s;
    read_plateau_keys(ck, *r, p, s);
    s.factor = read_optional_number(ck, *r, json_pointer(p, "factor"), kFactorRule, s.factor);
    s.cooldown = read_optional_int(ck, *r, json_pointer(p, "cooldown"), kPatienceRule, s.cooldown);
    s.min_lr = read_optional_number(ck, *r, json_pointer(p, "min_lr"), kMinLrRule, s.min_lr);
    c.reduce_lr_on_plateau = s;
  }
  return c;
}

Reference read_reference(const Checker& ck, const json& v) {
  const std::string path = "/reference";
  if (!v.is_object()) {
    ck.expected(path, "an object like {\"test_accuracy\": 0.98, \"source\": \"...\"}", v);
  }
  ck.check_keys(v, path, kReferenceKeys);
  Reference r;
  r.test_accuracy =
      read_number(ck, json_pointer(path, "test_accuracy"),
                  required(ck, v, json_pointer(path, "test_accuracy"), kAccuracyRule.what), kAccuracyRule);
  if (const json* s = member(v, "source"))
    r.source = read_string(ck, json_pointer(path, "source"), *s, "a string");
  return r;
}

}  // namespace

// -----------------------------------------------------------------------------------------------

nlohmann::json Experiment::to_json() const {
  json j;
  j["name"] = name;
  j["description"] = description;
  j["dataset"] = dataset;
  json layers = json::array();
  for (const auto& layer : model)
    layers.push_back({{"units", layer.units}, {"activation", name_of(layer.activation)}});
  j["model"] = layers;
  j["loss"] = loss;
  json opt = {{"name", name_of(optimizer.kind)}, {"learning_rate", optimizer.learning_rate}};
  if (const auto& sc = optimizer.schedule) {
    json config;
    if (sc->kind == ScheduleKind::kPiecewiseConstantDecay) {
      config = {{"boundaries", sc->boundaries}, {"values", sc->values}};
    } else {
      config = {{"initial_learning_rate", sc->initial_learning_rate},
                {"decay_steps", sc->decay_steps}};
      if (sc->kind == ScheduleKind::kExponentialDecay) {
        config["decay_rate"] = sc->decay_rate;
        config["staircase"] = sc->staircase;
      } else {
        config["alpha"] = sc->alpha;
        config["warmup_target"] = sc->warmup_target ? json(*sc->warmup_target) : json();
        config["warmup_steps"] = sc->warmup_steps;
      }
    }
    opt["learning_rate"] = {{"class_name", schedule_name(sc->kind)}, {"config", config}};
  }
  if (optimizer.kind == OptimizerKind::kSgd) {
    opt["momentum"] = optimizer.momentum;
    opt["nesterov"] = optimizer.nesterov;
  } else {
    opt["beta_1"] = optimizer.beta_1;
    opt["beta_2"] = optimizer.beta_2;
    opt["epsilon"] = optimizer.epsilon;
  }
  j["optimizer"] = opt;
  j["epochs"] = epochs;
  j["batch_size"] = batch_size;
  j["shuffle"] = shuffle;
  j["seed"] = seed;  // uint64_t: stored as an unsigned JSON integer
  j["threads"] = threads;
  j["shards"] = shards;
  if (reference) {
    j["reference"] = {{"test_accuracy", reference->test_accuracy}, {"source", reference->source}};
  }
  if (validation_split > 0) j["validation_split"] = validation_split;
  if (const auto& es = callbacks.early_stopping) {
    j["callbacks"]["early_stopping"] = {{"monitor", es->monitor},
                                        {"min_delta", es->min_delta},
                                        {"patience", es->patience},
                                        {"mode", es->mode},
                                        {"baseline", es->baseline ? json(*es->baseline) : json()},
                                        {"restore_best_weights", es->restore_best_weights},
                                        {"start_from_epoch", es->start_from_epoch}};
  }
  if (const auto& r = callbacks.reduce_lr_on_plateau) {
    j["callbacks"]["reduce_lr_on_plateau"] = {
        {"monitor", r->monitor},   {"factor", r->factor},     {"patience", r->patience},
        {"mode", r->mode},         {"min_delta", r->min_delta}, {"cooldown", r->cooldown},
        {"min_lr", r->min_lr}};
  }
  if (target_accuracy) {
    j["target_accuracy"] = *target_accuracy;
    j["target_metric"] = target_metric;
  }
  return j;
}

Experiment parse_experiment(const nlohmann::json& j, const std::string& source) {
  const Checker ck{source};
  if (!j.is_object()) {
    ck.fail("", "expected a JSON object at the top level, got " + json_excerpt(j));
  }
  ck.check_keys(j, "", kTopKeys);

  Experiment e;
  e.name = read_string(ck, "/name", required(ck, j, "/name", kNameDescription), kNameDescription);
  check_name(ck, "/name", e.name);
  if (const json* d = member(j, "description"))
    e.description = read_string(ck, "/description", *d, "a string");
  if (const json* s = member(j, "$schema")) read_string(ck, "/$schema", *s, "a string (a schema's URI)");
  e.dataset = read_choice(ck, "/dataset", required(ck, j, "/dataset", quoted_choices(kDatasets)),
                          kDatasets);
  e.model = read_model(ck, required(ck, j, "/model", "a non-empty array of layers"), e.dataset);
  e.loss = read_choice(ck, "/loss", required(ck, j, "/loss", quoted_choices(kLosses)), kLosses);
  e.optimizer =
      read_optimizer(ck, required(ck, j, "/optimizer", "\"adam\", \"sgd\" or an optimizer object"));
  e.epochs = static_cast<int>(
      read_int(ck, "/epochs", required(ck, j, "/epochs", kEpochsRule.describe()), kEpochsRule));
  e.batch_size = static_cast<int>(
      read_int(ck, "/batch_size", required(ck, j, "/batch_size", kBatchSizeRule.describe()),
               kBatchSizeRule));
  if (const json* v = member(j, "shuffle")) e.shuffle = read_bool(ck, "/shuffle", *v);
  if (const json* v = member(j, "seed")) e.seed = read_seed(ck, "/seed", *v);
  if (const json* v = member(j, "threads"))
    e.threads = static_cast<int>(read_int(ck, "/threads", *v, kThreadsRule));
  if (const json* v = member(j, "shards")) {
    e.shards = static_cast<int>(read_int(ck, "/shards", *v, kShardsRule));
    check_shards(ck, e);
  }
  if (const json* v = member(j, "reference")) e.reference = read_reference(ck, *v);
  if (const json* v = member(j, "validation_split")) {
    e.validation_split = read_number(ck, "/validation_split", *v, kValidationSplitRule);
  }
  if (const json* v = member(j, "callbacks")) e.callbacks = read_callbacks(ck, *v);
  if (const json* v = member(j, "target_accuracy")) {
    e.target_accuracy = read_number(ck, "/target_accuracy", *v, kTargetRule);
    e.target_metric = e.validation_split > 0 ? "val_accuracy" : "test_accuracy";
  }
  if (const json* v = member(j, "target_metric")) {
    e.target_metric = read_choice(ck, "/target_metric", *v, kTargetMetrics);
  }
  check_training_extras(ck, e);
  return e;
}

Experiment parse_experiment(const std::string& text, const std::string& source) {
  const Checker ck{source};
  return parse_experiment(ck.parse(text, kMaxJsonDepth, "a JSON object describing an experiment"), source);
}

Experiment load_experiment(const std::string& path) {
  const Checker ck{path};
  std::string text;
  try {
    text = read_input_file(path, kMaxExperimentBytes, "an experiment .json file");
  } catch (const InputFileError& e) {
    // e.what() starts with the path, which ck.fail() adds again.
    ck.fail("", std::string(e.what()).substr(path.size() + 2));
  }
  return parse_experiment(text, path);
}

void validate_experiment(const Experiment& e, const std::string& source) {
  const Checker ck{source};
  check_name(ck, "/name", e.name);
  check_choice(ck, "/dataset", e.dataset, kDatasets);
  check_model(ck, e.model, e.dataset);
  check_choice(ck, "/loss", e.loss, kLosses);
  check_optimizer(ck, e.optimizer);
  check_int(ck, "/epochs", e.epochs, kEpochsRule, json(e.epochs));
  check_int(ck, "/batch_size", e.batch_size, kBatchSizeRule, json(e.batch_size));
  check_int(ck, "/threads", e.threads, kThreadsRule, json(e.threads));
  check_int(ck, "/shards", e.shards, kShardsRule, json(e.shards));
  check_shards(ck, e);
  if (e.reference) {
    check_number(ck, "/reference/test_accuracy", e.reference->test_accuracy, kAccuracyRule,
                 json(e.reference->test_accuracy));
  }
  check_training_extras(ck, e);
}

}  // namespace mlpbench
