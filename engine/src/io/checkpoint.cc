#include "mlpbench/checkpoint.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

#include "mlpbench/callbacks.h"
#include "mlpbench/errors.h"
#include "io/input_file.h"
#include "mlpbench/json_errors.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/run_log.h"
#include "mlpbench/weights.h"

namespace mlpbench {
namespace {

// 3: a crc32 of the metadata and of every tensor (2: optimizer state in the parameters' own
// layout, weights in column panels).
constexpr const char* kMetaKey = "mlpbench.checkpoint";
constexpr const char* kChecksumsKey = "mlpbench.checksums";
constexpr const char* kBestWeights = "early_stopping.best_weights";
// Far above any real checkpoint (the largest model allowed is a few GB of parameters would not
// fit anyway); it bounds what a hostile file can make this process read.
constexpr uint64_t kMaxCheckpointBytes = uint64_t{64} << 30;

// A field that fails validation: what() is "<field>: <why>".
struct Bad : std::runtime_error {
  Bad(const std::string& field, const std::string& why) : std::runtime_error(field + ": " + why) {}
};

}  // namespace

uint32_t crc32_of(const void* data, size_t bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  const auto* p = static_cast<const Bytef*>(data);
  while (bytes > 0) {  // zlib takes uInt lengths
    const uInt chunk = static_cast<uInt>(std::min<size_t>(bytes, 1u << 30));
    crc = crc32(crc, p, chunk);
    p += chunk;
    bytes -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

namespace {

size_t tensor_bytes(const TensorView& t) {
  size_t n = 4;  // F32 and U32
  for (size_t d : t.shape) n *= d;
  return n;
}

const nlohmann::json& field(const nlohmann::json& j, const char* key, const std::string& where) {
  if (!j.is_object()) throw Bad(where, "expected an object");
  const auto it = j.find(key);
  if (it == j.end()) throw Bad(where + "/" + key, "missing");
  return *it;
}

uint64_t get_uint(const nlohmann::json& j, const char* key, const std::string& where,
                  uint64_t max = std::numeric_limits<uint64_t>::max()) {
  const nlohmann::json& v = field(j, key, where);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0)) {
    throw Bad(where + "/" + key, "expected a non-negative integer, got " + json_text(v));
  }
  const uint64_t x = v.get<uint64_t>();
  if (x > max) throw Bad(where + "/" + key, std::to_string(x) + " is above " + std::to_string(max));
  return x;
}

double get_finite(const nlohmann::json& j, const char* key, const std::string& where,
                  double lo = 0, double hi = std::numeric_limits<double>::infinity()) {
  const nlohmann::json& v = field(j, key, where);
  if (!v.is_number()) throw Bad(where + "/" + key, "expected a number, got " + json_text(v));
  const double x = v.get<double>();
  if (!std::isfinite(x) || x < lo || x > hi) {
    throw Bad(where + "/" + key, "expected a finite number from " + json_text(lo) +
                                     " to " + json_text(hi) + ", got " + json_text(v));
  }
  return x;
}

std::string get_string(const nlohmann::json& j, const char* key, const std::string& where) {
  const nlohmann::json& v = field(j, key, where);
  if (!v.is_string()) throw Bad(where + "/" + key, "expected a string, got " + json_text(v));
  return v.get<std::string>();
}

EpochResult epoch_from_json(const nlohmann::json& j, const std::string& where) {
  EpochResult r;
  r.epoch = static_cast<int>(get_uint(j, "epoch", where, 100000));
  r.train_loss = get_finite(j, "train_loss", where);
  r.train_accuracy = get_finite(j, "train_accuracy", where, 0, 1);
  r.test_loss = get_finite(j, "test_loss", where);
  r.test_accuracy = get_finite(j, "test_accuracy", where, 0, 1);
  r.train_seconds = get_finite(j, "train_seconds", where);
  r.eval_seconds = get_finite(j, "eval_seconds", where);
  r.samples_per_second = get_finite(j, "samples_per_second", where);
  r.gflops = get_finite(j, "gflops", where);
  r.steps = get_uint(j, "steps", where, std::numeric_limits<uint32_t>::max());
  if (j.contains("barrier_us") && !j.at("barrier_us").is_null()) {
    r.barrier_us = get_finite(j, "barrier_us", where);
  }
  if (j.contains("val_loss")) {  // null: not finite (a diverged validation)
    r.val_loss = j.at("val_loss").is_null() ? std::numeric_limits<double>::infinity()
                                            : get_finite(j, "val_loss", where);
    r.val_accuracy = get_finite(j, "val_accuracy", where, 0, 1);
  }
  if (j.contains("learning_rate")) {
    r.learning_rate = get_finite(j, "learning_rate", where);
    r.learning_rate_end = get_finite(j, "learning_rate_end", where);
  }
  if (j.contains("phases")) {
    const std::string at = where + "/phases";
    const nlohmann::json& p = j.at("phases");
    r.phase_steps = get_uint(p, "steps", at, r.steps);
    if (r.phase_steps == 0) throw Bad(at + "/steps", "expected at least 1 step");
    const nlohmann::json& threads = field(p, "threads", at);
    if (!threads.is_array() || threads.empty()) {
      throw Bad(at + "/threads", "expected a non-empty array");
    }
    for (size_t i = 0; i < threads.size(); ++i) {
      const std::string t = at + "/threads/" + std::to_string(i);
      r.phases.push_back({get_finite(threads[i], "layer0_forward_seconds", t),
                          get_finite(threads[i], "upper_layers_or_gather_seconds", t),
                          get_finite(threads[i], "barrier_wait_seconds", t),
                          get_finite(threads[i], "layer0_backward_update_seconds", t)});
    }
  }
  return r;
}

// A JSON metadata entry, parsed as strictly as an experiment file (json_errors.h: no duplicate
// keys, bounded nesting); what() names the entry and the JSON pointer.
nlohmann::json parse_entry(const std::string& text, const std::string& key) {
  try {
    return JsonChecker{key}.parse(text, 64, "JSON");
  } catch (const ConfigError& e) {
    throw std::runtime_error(e.what());  // a field of this checkpoint, reported with its path
  }
}

// Every tensor has a checksum and every checksum a tensor; the metadata has its own.
void verify_checksums(const SafetensorsFile& f, const std::string& meta_text) {
  const auto it = f.metadata.find(kChecksumsKey);
  if (it == f.metadata.end()) throw Bad(kChecksumsKey, "missing (every tensor needs a crc32)");
  const nlohmann::json sums = parse_entry(it->second, kChecksumsKey);
  auto check = [](const std::string& name, const nlohmann::json& stored, uint32_t computed) {
    if (!stored.is_number_unsigned() || stored.get<uint64_t>() != computed) {
      throw Bad(name, "crc32 mismatch (stored " + json_text(stored) + ", computed " +
                          std::to_string(computed) + "): the file is corrupt");
    }
  };
  check(std::string(kChecksumsKey) + "/metadata", field(sums, "metadata", kChecksumsKey),
        crc32_of(meta_text.data(), meta_text.size()));
  const nlohmann::json& tensors = field(sums, "tensors", kChecksumsKey);
  if (!tensors.is_object() || tensors.size() != f.tensors.size()) {
    throw Bad(std::string(kChecksumsKey) + "/tensors", "one crc32 per tensor expected");
  }
  for (const auto& [name, t] : f.tensors) {
    const auto s = tensors.find(name);
    if (s == tensors.end()) throw Bad("tensor " + name, "has no crc32");
    check("tensor " + name, *s, crc32_of(t.data, tensor_bytes(t)));
  }
}

void require_finite(const TensorView& t) {
  if (t.dtype != "F32") throw Bad("tensor " + t.name, "expected F32, got " + t.dtype);
  const size_t n = tensor_bytes(t) / 4;
  for (size_t i = 0; i < n; ++i) {
    float x;
    std::memcpy(&x, static_cast<const char*>(t.data) + 4 * i, 4);
    if (!std::isfinite(x)) {
      throw Bad("tensor " + t.name, "element " + std::to_string(i) + " is not finite");
    }
  }
}

// The tensors an experiment's checkpoint holds: names and shapes (optimizer state is flat; its
// length is checked against the trainer when restoring).
void check_tensors(const SafetensorsFile& f, const Experiment& e, TrainState& s) {
  size_t expected = 0;
  size_t in = 784;  // 28x28 pixels, the only input width (dataset.cc refuses other shapes)
  for (size_t l = 0; l < e.model.size(); ++l) {
    const size_t out = static_cast<size_t>(e.model[l].units);
    const std::string base = "dense_" + std::to_string(l);
    for (const auto& [name, shape] : {std::pair{base + ".kernel", std::vector<size_t>{in, out}},
                                      std::pair{base + ".bias", std::vector<size_t>{out}}}) {
      const auto it = f.tensors.find(name);
      if (it == f.tensors.end()) throw Bad("tensor " + name, "missing");
      if (it->second.shape != shape) {
        throw Bad("tensor " + name, "shape " + json_text(it->second.shape) +
                                        ", the experiment's model needs " +
                                        json_text(shape));
      }
      require_finite(it->second);
      ++expected;
    }
    in = out;
  }
  const std::vector<std::string> state_names =
      e.optimizer.kind == OptimizerKind::kAdam ? std::vector<std::string>{"adam.m", "adam.v"}
                                 : std::vector<std::string>{"sgd.velocity"};
  for (const std::string& name : state_names) {
    const auto it = f.tensors.find(name);
    if (it == f.tensors.end()) throw Bad("tensor " + name, "missing");
    if (it->second.shape.size() != 1) throw Bad("tensor " + name, "expected one dimension");
    require_finite(it->second);
    ++expected;
  }
  if (e.optimizer.kind == OptimizerKind::kAdam) {  // second moments are squares
    const TensorView& v = f.tensors.at("adam.v");
    for (size_t i = 0; i < v.shape[0]; ++i) {
      float x;
      std::memcpy(&x, static_cast<const char*>(v.data) + 4 * i, 4);
      if (x < 0) throw Bad("tensor adam.v", "element " + std::to_string(i) + " is negative");
    }
  }
  if (const auto best = f.tensors.find(kBestWeights); best != f.tensors.end()) {
    if (!e.callbacks.early_stopping) throw Bad("tensor " + std::string(kBestWeights), "but the experiment has no early_stopping");
    if (best->second.shape.size() != 1) throw Bad("tensor " + std::string(kBestWeights), "expected one dimension");
    require_finite(best->second);
    ++expected;
  }
  const auto it = f.tensors.find("order");
  if (it == f.tensors.end()) throw Bad("tensor order", "missing");
  const TensorView& order = it->second;
  if (order.dtype != "U32" || order.shape.size() != 1) throw Bad("tensor order", "expected U32 [n]");
  ++expected;
  if (f.tensors.size() != expected) {
    for (const auto& [name, t] : f.tensors) {
      (void)t;
      const bool known = name == "order" || name == kBestWeights || name.rfind("dense_", 0) == 0 ||
                         std::find(state_names.begin(), state_names.end(), name) != state_names.end();
      if (!known) throw Bad("tensor " + name, "not part of this experiment's checkpoint");
    }
    throw Bad("tensors", "more than the experiment's model and optimizer need");
  }
  // The order must be a permutation of 0..n-1: its entries index the training set.
  const size_t n = order.shape[0];
  s.order.resize(n);
  if (n) std::memcpy(s.order.data(), order.data, n * sizeof(uint32_t));
  std::vector<bool> seen(n, false);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t k = s.order[i];
    if (k >= n || seen[k]) {
      throw Bad("tensor order", "not a permutation of 0.." + std::to_string(n) + "-1 (entry " +
                                    std::to_string(i) + " is " + std::to_string(k) + ")");
    }
    seen[k] = true;
  }
}

TrainState parse_state(const nlohmann::json& j, const Experiment& e) {
  const std::string w = "state";
  TrainState s;
  s.epoch = static_cast<int>(get_uint(j, "epoch", w, static_cast<uint64_t>(e.epochs)));
  s.step = get_uint(j, "step", w, std::numeric_limits<uint32_t>::max());
  s.updates = get_uint(j, "updates", w);
  const nlohmann::json& rng = field(j, "shuffle_rng", w);
  if (!rng.is_array() || rng.size() != 4) throw Bad(w + "/shuffle_rng", "expected 4 integers");
  bool any = false;
  for (size_t i = 0; i < 4; ++i) {
    if (!rng[i].is_number_unsigned() && !(rng[i].is_number_integer() && rng[i].get<int64_t>() >= 0)) {
      throw Bad(w + "/shuffle_rng", "expected 4 unsigned 64-bit integers");
    }
    s.shuffle_rng[i] = rng[i].get<uint64_t>();
    any = any || s.shuffle_rng[i] != 0;
  }
  if (!any) throw Bad(w + "/shuffle_rng", "all zero (not a state of xoshiro256**)");
  s.loss_sum = get_finite(j, "loss_sum", w);
  s.correct = get_uint(j, "correct", w);
  s.seen = get_uint(j, "seen", w);
  if (s.correct > s.seen) throw Bad(w + "/correct", "larger than state/seen");
  s.train_seconds = get_finite(j, "train_seconds", w);
  const nlohmann::json& history = field(j, "history", w);
  if (!history.is_array()) throw Bad(w + "/history", "expected an array");
  if (history.size() != static_cast<size_t>(s.epoch)) {
    throw Bad(w + "/history", std::to_string(history.size()) + " epochs recorded, state/epoch says " +
                                  std::to_string(s.epoch));
  }
  for (size_t i = 0; i < history.size(); ++i) {
    const std::string where = w + "/history/" + std::to_string(i);
    s.history.push_back(epoch_from_json(history[i], where));
    if (s.history.back().epoch != static_cast<int>(i + 1)) {
      throw Bad(where + "/epoch", "expected " + std::to_string(i + 1));
    }
  }
  if (s.epoch == e.epochs && s.step != 0) throw Bad(w + "/step", "nonzero after the last epoch");
  // Callbacks (absent in checkpoints of runs without them).
  if (j.contains("learning_rate")) get_finite(j, "learning_rate", w);
  if (j.contains("stop_training")) {
    if (!j.at("stop_training").is_boolean()) throw Bad(w + "/stop_training", "expected true or false");
    s.stop_training = j.at("stop_training").get<bool>();
  }
  if (j.contains("callback_events")) {
    const nlohmann::json& events = j.at("callback_events");
    if (!events.is_array()) throw Bad(w + "/callback_events", "expected an array");
    for (size_t i = 0; i < events.size(); ++i) {
      try {
        s.events.push_back(callback_event_from_json(events[i]));
      } catch (const nlohmann::json::exception& ex) {
        throw Bad(w + "/callback_events/" + std::to_string(i), ex.what());
      }
    }
  }
  if (e.callbacks.early_stopping) field(j, "early_stopping", w);
  if (e.callbacks.reduce_lr_on_plateau) field(j, "reduce_lr_on_plateau", w);
  return s;
}

void check_run_info(const nlohmann::json& run) {
  const std::string w = "run";
  get_uint(run, "train_limit", w);
  get_uint(run, "test_limit", w);
  const std::string log = get_string(run, "log", w);
  if (log.empty() || log[0] != '/') throw Bad(w + "/log", "expected an absolute path, got " + json_text(log));
  if (run.contains("simd_target")) get_string(run, "simd_target", w);
  if (run.contains("started_utc")) get_string(run, "started_utc", w);
  if (run.contains("run_id")) get_string(run, "run_id", w);
  if (run.contains("batch_size_per_rank")) get_uint(run, "batch_size_per_rank", w, 65536);
  if (run.contains("reference_applies") && !run["reference_applies"].is_boolean()) {
    throw Bad(w + "/reference_applies", "expected true or false");
  }
  if (run.contains("identity")) {  // what a resumed run must match (run_identity.h)
    const std::string i = w + "/identity";
    const nlohmann::json& id = run["identity"];
    const nlohmann::json& data = field(id, "data_crc32", i);
    for (const char* key : {"train_images", "train_labels", "test_images", "test_labels"}) {
      get_uint(data, key, i + "/data_crc32", 0xffffffffu);
    }
    get_string(id, "simd_target", i);
    if (!field(id, "flush_denormals", i).is_boolean()) throw Bad(i + "/flush_denormals", "expected true or false");
    const std::string reduction = get_string(id, "reduction", i);
    if (reduction != "tree" && reduction != "mpi") {
      throw Bad(i + "/reduction", "expected tree or mpi, got " + json_text(reduction));
    }
    if (reduction == "mpi" && get_uint(id, "ranks", i, 1u << 20) == 0) throw Bad(i + "/ranks", "expected a positive number");
  }
  if (run.contains("lr_scaling")) {  // the rule a resumed run re-applies (its warmup)
    const std::string l = w + "/lr_scaling";
    const nlohmann::json& ls = run["lr_scaling"];
    if (!ls.is_object()) throw Bad(l, "expected an object");
    const std::string rule = get_string(ls, "rule", l);
    if (!parse_lr_rule(rule)) throw Bad(l + "/rule", "expected " + lr_rule_choices() + ", got " + json_text(rule));
    if (get_uint(ls, "base_batch_size", l, 65536) == 0) throw Bad(l + "/base_batch_size", "expected a positive number");
    if (ls.contains("warmup_epochs")) get_uint(ls, "warmup_epochs", l, 100000);
    if (ls.contains("base_learning_rate") && !ls["base_learning_rate"].is_number()) {
      throw Bad(l + "/base_learning_rate", "expected a number");
    }
  }
}

[[noreturn]] void unusable(const std::string& source, const std::string& why) {
  throw ConfigError(source + ": not a usable checkpoint: " + why);
}

}  // namespace

std::string encode_checkpoint(const nlohmann::json& meta, const std::vector<TensorView>& tensors) {
  const std::string meta_text = json_text_exact(meta);
  nlohmann::json sums = {{"metadata", crc32_of(meta_text.data(), meta_text.size())},
                         {"tensors", nlohmann::json::object()}};
  for (const auto& t : tensors) sums["tensors"][t.name] = crc32_of(t.data, tensor_bytes(t));
  return encode_safetensors(tensors, {{kMetaKey, meta_text}, {kChecksumsKey, json_text_exact(sums)}});
}

void save_checkpoint(const std::string& path, const Experiment& experiment, Trainer& trainer,
                     const RunInfo& run_info, bool create) {
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
  const nlohmann::json meta = {{"format", kCheckpointFormat},
                               {"experiment", experiment.to_json()},
                               {"state", state},
                               {"run", run_info_json(run_info)}};

  std::vector<std::vector<float>> weights;  // Keras-layout copies
  std::vector<TensorView> tensors = model_tensors(trainer.model(), weights);
  for (auto& [name, buffer] : trainer.optimizer().state()) {
    tensors.push_back({name, "F32", {buffer->size()}, buffer->data()});
  }
  tensors.push_back({"order", "U32", {s.order.size()}, s.order.data()});
  std::vector<float>& best = trainer.best_weights();
  if (!best.empty()) tensors.push_back({kBestWeights, "F32", {best.size()}, best.data()});
  write_output(path, encode_checkpoint(meta, tensors), create ? WriteMode::kCreate : WriteMode::kReplace);
}

Checkpoint parse_checkpoint(std::string bytes, const std::string& source) {
  Checkpoint c;
  c.path = source;
  try {
    c.file = parse_safetensors(std::move(bytes), source);
  } catch (const std::runtime_error& e) {
    unusable(source, e.what());
  }
  try {
    const auto it = c.file.metadata.find(kMetaKey);
    if (it == c.file.metadata.end()) throw Bad(kMetaKey, "missing: not an mlpbench checkpoint");
    verify_checksums(c.file, it->second);
    const nlohmann::json meta = parse_entry(it->second, kMetaKey);
    const nlohmann::json& format = field(meta, "format", "");
    if (format != kCheckpointFormat) {
      throw Bad("format", json_text(format) + ", this build reads \"" + kCheckpointFormat + "\"");
    }
    c.experiment = parse_experiment(field(meta, "experiment", ""), source + " (experiment)");
    const nlohmann::json& run = field(meta, "run", "");
    check_run_info(run);
    c.run_info = run_info_from_json(run);
    c.state_json = field(meta, "state", "");
    c.state = parse_state(c.state_json, c.experiment);
    check_tensors(c.file, c.experiment, c.state);
    if (c.state.step > 0 && c.state.order.empty()) throw Bad("tensor order", "empty in mid-epoch");
  } catch (const ConfigError&) {
    throw;
  } catch (const std::exception& e) {
    unusable(source, e.what());
  }
  return c;
}

Checkpoint read_checkpoint(const std::string& path) {
  std::string bytes;
  try {
    bytes = read_input_file(path, kMaxCheckpointBytes, "a checkpoint file");
  } catch (const InputFileError& e) {
    throw ConfigError(std::string("--resume: ") + e.what());
  }
  return parse_checkpoint(std::move(bytes), path);
}

void check_resumable(const Checkpoint& c, size_t n) {
  const TrainState& s = c.state;
  const size_t b = static_cast<size_t>(c.experiment.batch_size);
  const size_t steps = (n + b - 1) / b;
  auto bad = [&](const std::string& what) {
    unusable(c.path, what + " (the training set has " + std::to_string(n) + " samples, " +
                         std::to_string(steps) + " steps of " + std::to_string(b) + ")");
  };
  if (s.step > steps) bad("state/step: " + std::to_string(s.step) + " is beyond the epoch");
  if (s.step == steps && s.step != 0 && s.seen != n) bad("state/seen: not the whole epoch");
  if (s.step > 0 && s.order.size() != n) {
    bad("tensor order: " + std::to_string(s.order.size()) + " entries, expected one per sample");
  }
  // At step 0 the running sums are the finished epoch's; the next epoch starts them anew.
  if (s.step > 0 && s.seen != std::min(n, s.step * b)) {
    bad("state/seen: " + std::to_string(s.seen) + " samples after " + std::to_string(s.step) + " steps");
  }
  if (s.updates != static_cast<uint64_t>(s.epoch) * steps + s.step) {
    bad("state/updates: " + std::to_string(s.updates) + " does not match epoch " +
        std::to_string(s.epoch) + ", step " + std::to_string(s.step));
  }
  for (const EpochResult& r : s.history) {
    if (r.steps != steps) bad("state/history/" + std::to_string(r.epoch - 1) + "/steps: " + std::to_string(r.steps));
  }
}

void restore_checkpoint(const Checkpoint& c, Trainer& trainer) {
  try {
    load_weights(c.file, trainer.model());
    for (auto& [name, buffer] : trainer.optimizer().state()) {
      const std::vector<float> values = c.file.floats(name, {buffer->size()});
      std::memcpy(buffer->data(), values.data(), values.size() * sizeof(float));
    }
    const nlohmann::json& j = c.state_json;
    if (j.contains("learning_rate")) trainer.optimizer().set_constant_rate(j.at("learning_rate").get<double>());
    if (trainer.early_stopping()) trainer.early_stopping()->set_state(j.at("early_stopping"));
    if (trainer.reduce_lr_on_plateau()) {
      trainer.reduce_lr_on_plateau()->set_state(j.at("reduce_lr_on_plateau"));
    }
    trainer.best_weights().clear();
    if (c.file.tensors.count(kBestWeights)) {
      trainer.best_weights() = c.file.floats(kBestWeights, {trainer.model().params().size()});
    }
  } catch (const std::exception& e) {
    unusable(c.path, e.what());
  }
  trainer.state() = c.state;
}

}  // namespace mlpbench
