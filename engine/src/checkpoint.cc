#include "mlpbench/checkpoint.h"

#include <cstring>
#include <limits>
#include <stdexcept>

#include "mlpbench/errors.h"
#include "mlpbench/run_log.h"
#include "mlpbench/weights.h"

namespace mlpbench {
namespace {

// 2: the optimizer state is stored in the parameters' own layout, weights in column panels.
constexpr const char* kFormat = "mlpbench.checkpoint/2";

EpochResult epoch_from_json(const nlohmann::json& j) {
  EpochResult r;
  r.epoch = j.at("epoch").get<int>();
  r.train_loss = j.at("train_loss").get<double>();
  r.train_accuracy = j.at("train_accuracy").get<double>();
  r.test_loss = j.at("test_loss").get<double>();
  r.test_accuracy = j.at("test_accuracy").get<double>();
  r.train_seconds = j.at("train_seconds").get<double>();
  r.eval_seconds = j.at("eval_seconds").get<double>();
  r.samples_per_second = j.at("samples_per_second").get<double>();
  r.gflops = j.at("gflops").get<double>();
  r.steps = j.at("steps").get<size_t>();
  if (j.contains("barrier_us") && j.at("barrier_us").is_number()) {
    r.barrier_us = j.at("barrier_us").get<double>();
  }
  if (j.contains("val_loss")) {
    const auto& v = j.at("val_loss");
    r.val_loss = v.is_number() ? v.get<double>() : std::numeric_limits<double>::infinity();
    r.val_accuracy = j.at("val_accuracy").get<double>();
  }
  if (j.contains("learning_rate")) {
    r.learning_rate = j.at("learning_rate").get<double>();
    r.learning_rate_end = j.at("learning_rate_end").get<double>();
  }
  return r;
}

}  // namespace

void save_checkpoint(const std::string& path, const Experiment& experiment, Trainer& trainer,
                     const nlohmann::json& run_info) {
  const TrainState& s = trainer.state();
  nlohmann::json state = {{"epoch", s.epoch},
                          {"step", s.step},
                          {"updates", s.updates},
                          {"shuffle_rng", s.shuffle_rng},
                          {"loss_sum", s.loss_sum},
                          {"correct", s.correct},
                          {"seen", s.seen},
                          {"train_seconds", s.train_seconds},
                          {"history", nlohmann::json::array()}};
  for (const auto& e : s.history) state["history"].push_back(epoch_json(e));
  // Callbacks and the rate they set (a schedule needs nothing: its step is `updates`).
  state["learning_rate"] = trainer.optimizer().constant_rate();
  state["stop_training"] = s.stop_training;
  state["callback_events"] = nlohmann::json::array();
  for (const auto& e : s.events) state["callback_events"].push_back(callback_event_json(e));
  if (trainer.early_stopping()) state["early_stopping"] = trainer.early_stopping()->state();
  if (trainer.reduce_lr_on_plateau()) {
    state["reduce_lr_on_plateau"] = trainer.reduce_lr_on_plateau()->state();
  }
  const nlohmann::json meta = {{"format", kFormat},
                               {"experiment", experiment.to_json()},
                               {"state", state},
                               {"run", run_info}};

  std::vector<std::vector<float>> weights;  // Keras-layout copies
  std::vector<TensorView> tensors = model_tensors(trainer.model(), weights);
  for (auto& [name, buffer] : trainer.optimizer().state()) {
    tensors.push_back({name, "F32", {buffer->size()}, buffer->data()});
  }
  tensors.push_back({"order", "U32", {s.order.size()}, s.order.data()});
  std::vector<float>& best = trainer.best_weights();
  if (!best.empty()) tensors.push_back({"early_stopping.best_weights", "F32", {best.size()}, best.data()});
  write_file_atomically(path, encode_safetensors(tensors, {{"mlpbench.checkpoint", meta.dump()}}));
}

Checkpoint read_checkpoint(const std::string& path) {
  try {
    const SafetensorsFile f = read_safetensors(path);
    const auto it = f.metadata.find("mlpbench.checkpoint");
    if (it == f.metadata.end()) throw std::runtime_error("no mlpbench.checkpoint metadata");
    const nlohmann::json meta = nlohmann::json::parse(it->second);
    if (meta.at("format") != kFormat) {
      throw std::runtime_error("format " + meta.at("format").dump() + ", this build reads " + kFormat);
    }
    Checkpoint c;
    c.path = path;
    c.experiment = parse_experiment(meta.at("experiment"), path + " (experiment)");
    c.run_info = meta.at("run");
    c.state = meta.at("state");
    return c;
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    throw ConfigError(path + ": not a usable checkpoint: " + e.what());
  }
}

void restore_checkpoint(const Checkpoint& c, Trainer& trainer) {
  try {
    const SafetensorsFile f = read_safetensors(c.path);
    load_weights(f, trainer.model());
    for (auto& [name, buffer] : trainer.optimizer().state()) {
      const std::vector<float> values = f.floats(name, {buffer->size()});
      std::memcpy(buffer->data(), values.data(), values.size() * sizeof(float));
    }
    TrainState& s = trainer.state();
    const nlohmann::json& j = c.state;
    s.epoch = j.at("epoch").get<int>();
    s.step = j.at("step").get<size_t>();
    s.updates = j.at("updates").get<uint64_t>();
    s.shuffle_rng = j.at("shuffle_rng").get<std::array<uint64_t, 4>>();
    s.loss_sum = j.at("loss_sum").get<double>();
    s.correct = j.at("correct").get<uint64_t>();
    s.seen = j.at("seen").get<uint64_t>();
    s.train_seconds = j.at("train_seconds").get<double>();
    s.history.clear();
    for (const auto& e : j.at("history")) s.history.push_back(epoch_from_json(e));
    // Absent in checkpoints of runs without callbacks (and of older builds).
    if (j.contains("learning_rate")) trainer.optimizer().set_constant_rate(j.at("learning_rate").get<double>());
    s.stop_training = j.value("stop_training", false);
    s.events.clear();
    if (j.contains("callback_events")) {
      for (const auto& e : j.at("callback_events")) s.events.push_back(callback_event_from_json(e));
    }
    if (trainer.early_stopping()) trainer.early_stopping()->set_state(j.at("early_stopping"));
    if (trainer.reduce_lr_on_plateau()) {
      trainer.reduce_lr_on_plateau()->set_state(j.at("reduce_lr_on_plateau"));
    }
    trainer.best_weights().clear();
    if (f.tensors.count("early_stopping.best_weights")) {
      const std::vector<float> best =
          f.floats("early_stopping.best_weights", {trainer.model().params().size()});
      trainer.best_weights() = best;
    }
    const auto order = f.tensors.at("order");
    if (order.dtype != "U32" || order.shape.size() != 1) throw std::runtime_error("bad order tensor");
    s.order.resize(order.shape[0]);
    std::memcpy(s.order.data(), order.data, s.order.size() * sizeof(uint32_t));
    if (s.step > 0 && s.order.size() != trainer.train_samples()) {
      throw std::runtime_error("order does not match the dataset");
    }
  } catch (const std::exception& e) {
    throw ConfigError(c.path + ": cannot restore checkpoint: " + e.what());
  }
}

}  // namespace mlpbench
