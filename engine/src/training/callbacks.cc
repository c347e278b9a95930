#include "mlpbench/callbacks.h"

#include <algorithm>
#include <cmath>

namespace mlpbench {
namespace {

constexpr double kInfinity = std::numeric_limits<double>::infinity();

// JSON has no infinities: a best value not yet set is stored as null.
nlohmann::json number_or_null(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}
double number_or(const nlohmann::json& v, double fallback) {
  return v.is_number() ? v.get<double>() : fallback;
}

}  // namespace

nlohmann::json callback_event_json(const CallbackEvent& e) {
  nlohmann::json j = {{"epoch", e.epoch},
                      {"callback", e.callback},
                      {"action", e.action},
                      {"reason", e.reason}};
  if (std::isfinite(e.from)) j["from"] = e.from;
  if (std::isfinite(e.to)) j["to"] = e.to;
  if (e.restored_epoch > 0) j["restored_epoch"] = e.restored_epoch;
  return j;
}

CallbackEvent callback_event_from_json(const nlohmann::json& j) {
  CallbackEvent e;
  e.epoch = j.at("epoch").get<int>();
  e.callback = j.at("callback").get<std::string>();
  e.action = j.at("action").get<std::string>();
  e.reason = j.at("reason").get<std::string>();
  if (j.contains("from")) e.from = j.at("from").get<double>();
  if (j.contains("to")) e.to = j.at("to").get<double>();
  if (j.contains("restored_epoch")) e.restored_epoch = j.at("restored_epoch").get<int>();
  return e;
}

bool monitor_maximises(const std::string& monitor, const std::string& mode) {
  if (mode == "max") return true;
  if (mode == "min") return false;
  return monitor.find("acc") != std::string::npos;  // both callbacks' "auto" for our monitors
}

// ---- EarlyStopping ----------------------------------------------------------------------------

EarlyStopping::EarlyStopping(const EarlyStoppingSpec& spec)
    : spec_(spec),
      maximise_(monitor_maximises(spec.monitor, spec.mode)),
      min_delta_(maximise_ ? std::fabs(spec.min_delta) : -std::fabs(spec.min_delta)),
      best_(maximise_ ? -kInfinity : kInfinity) {}

bool EarlyStopping::improves(double value, double reference) const {
  return maximise_ ? value - min_delta_ > reference : value - min_delta_ < reference;
}

EarlyStopping::Decision EarlyStopping::on_epoch_end(int epoch, double current) {
  Decision d;
  if (epoch < spec_.start_from_epoch) return d;
  if (spec_.restore_best_weights && !has_snapshot_) {
    // Never set: the current weights are the best so far.
    d.snapshot = has_snapshot_ = true;
    best_epoch_ = epoch;
  }
  ++wait_;
  if (improves(current, best_)) {
    best_ = current;
    best_epoch_ = epoch;
    if (spec_.restore_best_weights) d.snapshot = true;
    // Only a value beating the baseline too restarts the wait.
    if (!spec_.baseline || improves(current, *spec_.baseline)) wait_ = 0;
    return d;
  }
  if (wait_ >= spec_.patience && epoch > 0) {
    stopped_epoch_ = epoch;
    d.stop = true;
  }
  return d;
}

nlohmann::json EarlyStopping::state() const {
  return {{"wait", wait_},
          {"stopped_epoch", stopped_epoch_},
          {"best_epoch", best_epoch_},
          {"best", number_or_null(best_)},
          {"has_snapshot", has_snapshot_}};
}

void EarlyStopping::set_state(const nlohmann::json& j) {
  wait_ = j.at("wait").get<int>();
  stopped_epoch_ = j.at("stopped_epoch").get<int>();
  best_epoch_ = j.at("best_epoch").get<int>();
  best_ = number_or(j.at("best"), maximise_ ? -kInfinity : kInfinity);
  has_snapshot_ = j.at("has_snapshot").get<bool>();
}

// ---- ReduceLROnPlateau ------------------------------------------------------------------------

ReduceLrOnPlateau::ReduceLrOnPlateau(const ReduceLrOnPlateauSpec& spec)
    : spec_(spec), maximise_(monitor_maximises(spec.monitor, spec.mode)),
      best_(maximise_ ? -kInfinity : kInfinity) {}

bool ReduceLrOnPlateau::improves(double value) const {
  // Keras applies min_delta as given here (not its absolute value, unlike EarlyStopping).
  return maximise_ ? value > best_ + spec_.min_delta : value < best_ - spec_.min_delta;
}

double ReduceLrOnPlateau::on_epoch_end(double current, double learning_rate) {
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    wait_ = 0;
  }
  if (improves(current)) {
    best_ = current;
    wait_ = 0;
    return learning_rate;
  }
  if (cooldown_counter_ > 0) return learning_rate;
  ++wait_;
  if (wait_ < spec_.patience) return learning_rate;
  // Keras reads the rate back from its float32 variable.
  const double old = static_cast<double>(static_cast<float>(learning_rate));
  if (!(old > static_cast<double>(static_cast<float>(spec_.min_lr)))) return learning_rate;
  const double reduced = std::max(old * spec_.factor, spec_.min_lr);
  cooldown_counter_ = spec_.cooldown;
  wait_ = 0;
  return static_cast<double>(static_cast<float>(reduced));
}

nlohmann::json ReduceLrOnPlateau::state() const {
  return {{"wait", wait_}, {"cooldown_counter", cooldown_counter_}, {"best", number_or_null(best_)}};
}

void ReduceLrOnPlateau::set_state(const nlohmann::json& j) {
  wait_ = j.at("wait").get<int>();
  cooldown_counter_ = j.at("cooldown_counter").get<int>();
  best_ = number_or(j.at("best"), maximise_ ? -kInfinity : kInfinity);
}

}  // namespace mlpbench
