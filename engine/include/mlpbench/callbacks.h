#pragma once
// keras.callbacks.EarlyStopping and ReduceLROnPlateau as state machines over the epochs'
// monitored values, with Keras' exact rules (Keras 3); the trainer applies what they decide.
#include <limits>
#include <string>

#include <nlohmann/json.hpp>

#include "mlpbench/experiment.h"

namespace mlpbench {

// What a callback did at an epoch's end, as the run log records it.
struct CallbackEvent {
  int epoch = 0;             // from 1
  std::string callback;      // "early_stopping" or "reduce_lr_on_plateau"
  std::string action;        // "stop_training", "restore_best_weights" or "reduce_learning_rate"
  std::string reason;        // in words, with the numbers
  double from = std::numeric_limits<double>::quiet_NaN();  // reduce_learning_rate: old rate
  double to = std::numeric_limits<double>::quiet_NaN();    // and new rate
  int restored_epoch = 0;    // restore_best_weights: the epoch (from 1) whose weights came back
};
nlohmann::json callback_event_json(const CallbackEvent& e);
CallbackEvent callback_event_from_json(const nlohmann::json& j);

// True if larger values of `monitor` are better under `mode` ("auto": accuracies).
bool monitor_maximises(const std::string& monitor, const std::string& mode);

class EarlyStopping {
 public:
  explicit EarlyStopping(const EarlyStoppingSpec& spec);
  struct Decision {
    bool snapshot = false;  // keep the current weights as the best (restore_best_weights)
    bool stop = false;      // stop training after this epoch
  };
  // Keras' on_epoch_end; `epoch` counts from 0 as Keras' does.
  Decision on_epoch_end(int epoch, double current);
  int best_epoch() const { return best_epoch_; }  // from 0
  double best() const { return best_; }
  int wait() const { return wait_; }
  bool has_snapshot() const { return has_snapshot_; }

  nlohmann::json state() const;
  void set_state(const nlohmann::json& j);

 private:
  bool improves(double value, double reference) const;

  EarlyStoppingSpec spec_;
  bool maximise_;
  double min_delta_;  // signed as Keras signs it: negative when minimising
  int wait_ = 0;
  int stopped_epoch_ = 0;
  int best_epoch_ = 0;
  double best_;
  bool has_snapshot_ = false;
};

class ReduceLrOnPlateau {
 public:
  explicit ReduceLrOnPlateau(const ReduceLrOnPlateauSpec& spec);
  // Keras' on_epoch_end with the optimizer's rate; returns the rate to use from now on (Keras
  // stores it in a float32 variable: the new rate is rounded to float32).
  double on_epoch_end(double current, double learning_rate);
  int wait() const { return wait_; }
  int cooldown_counter() const { return cooldown_counter_; }
  double best() const { return best_; }

  nlohmann::json state() const;
  void set_state(const nlohmann::json& j);

 private:
  bool improves(double value) const;

  ReduceLrOnPlateauSpec spec_;
  bool maximise_;
  double best_;
  int wait_ = 0;
  int cooldown_counter_ = 0;
};

}  // namespace mlpbench
