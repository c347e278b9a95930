// Keras habits: validation split, learning-rate schedules, EarlyStopping, ReduceLROnPlateau,
// target accuracy and the confusion matrix; each against hand-computed Keras values.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <numbers>

#include "mlpbench/callbacks.h"
#include "mlpbench/checkpoint.h"
#include "mlpbench/dataset.h"
#include "mlpbench/experiment.h"
#include "mlpbench/optimizer.h"
#include "mlpbench/progress.h"
#include "mlpbench/run_log.h"
#include "mlpbench/schedule.h"
#include "mlpbench/trainer.h"
#include "test_support.h"

namespace test_keras {

using namespace mlpbench;
using nlohmann::json;

namespace {

struct Data {
  Dataset train, test;
};

const Data& data() {
  static const Data d = [] {
    const std::string dir = test_support::temp_dir();
    test_support::write_tiny_mnist(dir, 530, 120);
    return Data{load_dataset(dir, "mnist", "train", 0), load_dataset(dir, "mnist", "test", 0)};
  }();
  return d;
}

Experiment tiny() {
  Experiment e;
  e.name = "tiny";
  e.model = {{24, Activation::kRelu}, {10, Activation::kSoftmax}};
  e.epochs = 3;
  e.batch_size = 32;
  e.seed = 7;
  return e;
}

std::vector<float> params_of(Trainer& t) {
  const auto& p = t.model().params();
  return {p.begin(), p.end()};
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

ScheduleSpec schedule(const json& j) {
  json exp = {{"name", "s"}, {"dataset", "mnist"}, {"model", {{{"units", 10}, {"activation", "softmax"}}}},
              {"loss", "sparse_categorical_crossentropy"}, {"epochs", 1}, {"batch_size", 8},
              {"optimizer", {{"name", "sgd"}, {"learning_rate", j}}}};
  return *parse_experiment(exp, "test").optimizer.schedule;
}

}  // namespace

// ---- schedules --------------------------------------------------------------------------------

TEST_CASE("ExponentialDecay gives Keras' rates, with and without staircase", "[keras][schedule]") {
  ScheduleSpec s = schedule({{"class_name", "ExponentialDecay"},
                             {"config", {{"initial_learning_rate", 0.1}, {"decay_steps", 10}, {"decay_rate", 0.5}}}});
  CHECK(schedule_rate(s, 0) == 0.1);
  CHECK(schedule_rate(s, 10) == 0.05);
  CHECK(schedule_rate(s, 5) == 0.1 * std::pow(0.5, 0.5));
  CHECK(schedule_rate(s, 19) == 0.1 * std::pow(0.5, 1.9));
  s.staircase = true;
  CHECK(schedule_rate(s, 19) == 0.05);
  CHECK(schedule_rate(s, 20) == 0.025);
}

TEST_CASE("PiecewiseConstantDecay keeps a boundary's own step on the earlier value", "[keras][schedule]") {
  const ScheduleSpec s = schedule({{"class_name", "PiecewiseConstantDecay"},
                                   {"config", {{"boundaries", {100, 200}}, {"values", {1.0, 0.5, 0.1}}}}});
  CHECK(schedule_rate(s, 0) == 1.0);
  CHECK(schedule_rate(s, 100) == 1.0);
  CHECK(schedule_rate(s, 101) == 0.5);
  CHECK(schedule_rate(s, 200) == 0.5);
  CHECK(schedule_rate(s, 201) == 0.1);
}

TEST_CASE("CosineDecay decays to alpha and warms up linearly first", "[keras][schedule]") {
  const ScheduleSpec s = schedule({{"class_name", "CosineDecay"},
                                   {"config", {{"initial_learning_rate", 1.0}, {"decay_steps", 100}, {"alpha", 0.1}}}});
  CHECK(schedule_rate(s, 0) == 1.0);
  CHECK(schedule_rate(s, 50) == Approx(0.55).margin(1e-15));
  CHECK(schedule_rate(s, 25) == Approx(0.9 * 0.5 * (1 + std::cos(std::numbers::pi / 4)) + 0.1).margin(1e-15));
  CHECK(schedule_rate(s, 100) == Approx(0.1).margin(1e-15));
  CHECK(schedule_rate(s, 150) == schedule_rate(s, 100));  // held at the floor
  const ScheduleSpec w = schedule({{"class_name", "CosineDecay"},
                                   {"config", {{"initial_learning_rate", 0.0}, {"decay_steps", 100},
                                               {"warmup_target", 1.0}, {"warmup_steps", 10}}}});
  CHECK(schedule_rate(w, 0) == 0.0);
  CHECK(schedule_rate(w, 5) == 0.5);
  CHECK(schedule_rate(w, 10) == 1.0);
  CHECK(schedule_rate(w, 60) == Approx(0.5).margin(1e-15));
  CHECK(schedule_rate(w, 110) == Approx(0.0).margin(1e-15));
  CHECK(schedule_rate(w, 1000) == schedule_rate(w, 110));
}

TEST_CASE("update t uses the schedule's rate at step t - 1, planned or not", "[keras][schedule]") {
  OptimizerSpec spec;
  spec.kind = OptimizerKind::kSgd;
  spec.schedule = schedule({{"class_name", "ExponentialDecay"},
                            {"config", {{"initial_learning_rate", 0.5}, {"decay_steps", 1}, {"decay_rate", 0.5}}}});
  Optimizer opt(spec, 16);
  FloatBuffer p(16), g(16);
  for (size_t i = 0; i < 16; ++i) g[i] = 1.0f;
  const kernels::Part all{0, 1};
  float expected = 0;
  opt.plan_rates(1, 2);
  for (uint64_t t = 1; t <= 4; ++t) {  // updates 3 and 4 are outside the planned run
    CHECK(opt.learning_rate(t) == 0.5 * std::pow(0.5, static_cast<double>(t - 1)));
    opt.step(p.data(), g.data(), 0, 16, t, all);
    expected -= static_cast<float>(opt.learning_rate(t));
    CHECK(p[3] == expected);
  }
}

TEST_CASE("a warmup ramps the rate linearly per update from start x rate to the rate", "[lr][warmup]") {
  OptimizerSpec spec;
  spec.kind = OptimizerKind::kSgd;
  spec.learning_rate = 0.4;
  Optimizer opt(spec, 16);
  CHECK(opt.warmup_factor(1) == 1.0);  // none set: the rate untouched
  opt.set_warmup(4, 0.25);
  const double want[] = {0.1, 0.175, 0.25, 0.325, 0.4, 0.4};
  FloatBuffer p(16), g(16);
  for (size_t i = 0; i < 16; ++i) g[i] = 1.0f;
  float expected = 0;
  for (uint64_t t = 1; t <= 6; ++t) {
    CHECK(opt.learning_rate(t) == Approx(want[t - 1]).epsilon(1e-15));
    opt.step(p.data(), g.data(), 0, 16, t, {0, 1});
    expected -= static_cast<float>(opt.learning_rate(t));
    CHECK(p[5] == expected);  // the step used the warmed-up rate
  }
  CHECK(opt.learning_rate(5) == 0.4);  // after the warmup exactly the rate
  // With a schedule: the schedule's rate times the same factor, planned or not.
  spec.schedule = schedule({{"class_name", "ExponentialDecay"},
                            {"config", {{"initial_learning_rate", 0.4}, {"decay_steps", 1}, {"decay_rate", 0.5}}}});
  Optimizer sched(spec, 16);
  sched.set_warmup(4, 0.25);
  sched.plan_rates(1, 3);
  for (uint64_t t = 1; t <= 6; ++t) {
    CHECK(sched.learning_rate(t) == Approx(want[t - 1] * std::pow(0.5, static_cast<double>(t - 1))).epsilon(1e-15));
  }
}

TEST_CASE("a schedule that stays constant trains bitwise like the constant rate", "[keras][schedule][training]") {
  Experiment e = tiny();
  Trainer plain(e, data().train, data().test, 2);
  REQUIRE(plain.run({}) == StopReason::kCompleted);
  Experiment s = e;
  s.optimizer.schedule = ScheduleSpec{};
  s.optimizer.schedule->kind = ScheduleKind::kPiecewiseConstantDecay;
  s.optimizer.schedule->values = {e.optimizer.learning_rate};
  Trainer scheduled(s, data().train, data().test, 2);
  REQUIRE(scheduled.run({}) == StopReason::kCompleted);
  REQUIRE(same_bits(params_of(plain), params_of(scheduled)));
  for (const auto& r : scheduled.state().history) CHECK(r.learning_rate == e.optimizer.learning_rate);
}

TEST_CASE("each epoch logs the rate of its first and last update", "[keras][schedule][training]") {
  Experiment e = tiny();
  e.optimizer.schedule = schedule({{"class_name", "CosineDecay"},
                                   {"config", {{"initial_learning_rate", 0.002}, {"decay_steps", 40}}}});
  Trainer t(e, data().train, data().test, 2);
  REQUIRE(t.run({}) == StopReason::kCompleted);
  const size_t steps = t.steps_per_epoch();  // 17
  for (const auto& r : t.state().history) {
    CHECK(r.learning_rate == schedule_rate(*e.optimizer.schedule, (r.epoch - 1) * steps));
    CHECK(r.learning_rate_end == schedule_rate(*e.optimizer.schedule, r.epoch * steps - 1));
  }
}

// ---- EarlyStopping ----------------------------------------------------------------------------

namespace {
// The 0-based epoch at which EarlyStopping stops over `values`, or -1.
int stops_at(const EarlyStoppingSpec& spec, const std::vector<double>& values, int* best = nullptr) {
  EarlyStopping es(spec);
  for (size_t i = 0; i < values.size(); ++i) {
    if (es.on_epoch_end(static_cast<int>(i), values[i]).stop) {
      if (best) *best = es.best_epoch();
      return static_cast<int>(i);
    }
  }
  if (best) *best = es.best_epoch();
  return -1;
}
}  // namespace

TEST_CASE("EarlyStopping stops on the epochs Keras does", "[keras][callbacks]") {
  EarlyStoppingSpec s;  // val_loss, patience 0, min_delta 0, auto -> min
  // patience 0: the first epoch that does not improve (never epoch 0).
  CHECK(stops_at(s, {1.0, 1.1, 0.5}) == 1);
  CHECK(stops_at(s, {1.0, 0.9, 0.8}) == -1);
  s.patience = 2;
  int best = -1;
  // wait: 0, 0, 1, 2 -> stops at epoch 3; best was epoch 1.
  CHECK(stops_at(s, {1.0, 0.9, 0.95, 0.92, 0.91}, &best) == 3);
  CHECK(best == 1);
  // An equal value is no improvement.
  CHECK(stops_at(s, {1.0, 1.0, 1.0}) == 2);
  // min_delta: 0.995 is not 0.01 better than 1.0.
  s.patience = 1;
  s.min_delta = 0.01;
  CHECK(stops_at(s, {1.0, 0.995, 0.98}) == 1);
  s.min_delta = -0.01;  // Keras takes its absolute value
  CHECK(stops_at(s, {1.0, 0.995, 0.98}) == 1);
  // accuracy: auto means max.
  EarlyStoppingSpec a;
  a.monitor = "val_accuracy";
  a.patience = 1;
  CHECK(stops_at(a, {0.5, 0.6, 0.55}) == 2);
  a.mode = "min";
  CHECK(stops_at(a, {0.5, 0.6, 0.55}) == 1);
  // start_from_epoch: epochs before it are not looked at.
  EarlyStoppingSpec w;
  w.start_from_epoch = 2;
  CHECK(stops_at(w, {1.0, 2.0, 3.0, 4.0}) == 3);
  // baseline: improving on the best but not on the baseline keeps the wait growing, and the
  // stop test runs only on epochs that do not improve.
  EarlyStoppingSpec b;
  b.monitor = "val_accuracy";
  b.baseline = 0.9;
  b.patience = 2;
  CHECK(stops_at(b, {0.5, 0.6, 0.7, 0.8}) == -1);
  CHECK(stops_at(b, {0.5, 0.5, 0.5}) == 1);
  CHECK(stops_at(b, {0.5, 0.95, 0.95, 0.95}) == 3);
}

TEST_CASE("EarlyStopping with restore_best_weights ends on the best epoch's exact weights", "[keras][callbacks][training]") {
  // Monitoring the training loss with mode "max" makes epoch 1 the best (the loss falls), so
  // with patience 2 training stops after epoch 3 and restores epoch 1's weights.
  Experiment e = tiny();
  e.epochs = 10;
  EarlyStoppingSpec s;
  s.monitor = "loss";
  s.mode = "max";
  s.patience = 2;
  s.restore_best_weights = true;
  e.callbacks.early_stopping = s;
  Trainer t(e, data().train, data().test, 2);
  REQUIRE(t.run({}) == StopReason::kCompleted);
  const auto& h = t.state().history;
  REQUIRE(h.size() == 3);
  REQUIRE(h[1].train_loss < h[0].train_loss);
  REQUIRE(h[2].train_loss < h[0].train_loss);
  const auto& ev = t.state().events;
  REQUIRE(ev.size() == 2);
  CHECK(ev[0].epoch == 3);
  CHECK(ev[0].action == "stop_training");
  CHECK(ev[1].action == "restore_best_weights");
  CHECK(ev[1].reason.find("epoch 1 ") != std::string::npos);

  Experiment one = tiny();
  one.epochs = 1;
  Trainer first(one, data().train, data().test, 2);
  REQUIRE(first.run({}) == StopReason::kCompleted);
  REQUIRE(same_bits(params_of(t), params_of(first)));
  // The final evaluation is of the restored weights.
  CHECK(t.final_test()->loss == first.final_test()->loss);
}

// ---- ReduceLROnPlateau ------------------------------------------------------------------------

TEST_CASE("ReduceLROnPlateau reduces on the epochs Keras does, with cooldown and min_lr", "[keras][callbacks]") {
  ReduceLrOnPlateauSpec s;  // val_loss, min_delta 1e-4
  s.patience = 2;
  s.factor = 0.5;
  s.cooldown = 1;
  s.min_lr = 0.0002;
  ReduceLrOnPlateau r(s);
  const std::vector<double> values = {1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5};
  std::vector<double> rates;
  double lr = 0.001;
  for (double v : values) rates.push_back(lr = r.on_epoch_end(v, lr));
  // Keras keeps the rate in a float32 variable and multiplies what it reads back, in double.
  const double a = static_cast<float>(static_cast<double>(0.001f) * 0.5);  // epoch 3 (index 2)
  const double b = static_cast<float>(a * 0.5);                           // epoch 5
  const double c = static_cast<float>(0.0002);                            // epoch 9: clamped
  const std::vector<double> expected = {0.001, 0.001, a, a, b, b, b, b, c, c, c, c};
  // index 6 improves (0.5); 7, 8: wait 1, 2 -> reduce at 8 to max(b/2, min_lr) = min_lr;
  // then at min_lr: no further reduction.
  CHECK(rates == expected);
  // min_delta: 0.99995 is not 1e-4 below 1.0.
  ReduceLrOnPlateauSpec p;
  p.patience = 1;
  ReduceLrOnPlateau q(p);
  CHECK(q.on_epoch_end(1.0, 0.01) == 0.01);
  const double tenth = static_cast<float>(static_cast<double>(0.01f) * 0.1);
  CHECK(q.on_epoch_end(0.99995, 0.01) == tenth);
  // accuracy is maximised under "auto".
  ReduceLrOnPlateauSpec m;
  m.monitor = "val_accuracy";
  m.patience = 1;
  ReduceLrOnPlateau acc(m);
  CHECK(acc.on_epoch_end(0.5, 0.01) == 0.01);
  CHECK(acc.on_epoch_end(0.6, 0.01) == 0.01);
  CHECK(acc.on_epoch_end(0.55, 0.01) == tenth);
}

// ---- validation split, target, confusion matrix ----------------------------------------------

TEST_CASE("the validation split is the last samples and is never trained on", "[keras][validation][training]") {
  Dataset train = data().train;
  const size_t n = train.size();
  Dataset val = split_off_tail(train, 477);
  REQUIRE(train.size() == 477);
  REQUIRE(val.size() == n - 477);
  REQUIRE(std::memcmp(val.image(0), data().train.image(477), val.features()) == 0);
  REQUIRE(val.labels.back() == data().train.labels.back());

  // Training with the validation set gives the same weights as training on the head alone.
  Experiment e = tiny();
  e.validation_split = 0.1;
  Trainer with(e, train, data().test, 2, &val);
  REQUIRE(with.run({}) == StopReason::kCompleted);
  Experiment plain = tiny();
  Trainer head(plain, train, data().test, 2);
  REQUIRE(head.run({}) == StopReason::kCompleted);
  REQUIRE(same_bits(params_of(with), params_of(head)));
  const Evaluation v = head.evaluate(val);
  CHECK(with.state().history.back().val_loss == v.loss);
  CHECK(with.state().history.back().val_accuracy == v.accuracy);
  CHECK(std::isnan(head.state().history.back().val_loss));
}

TEST_CASE("time to target sums the training seconds up to the first epoch that reaches it", "[keras][target]") {
  std::vector<EpochResult> epochs(4);
  const double acc[] = {0.90, 0.97, 0.985, 0.99};
  for (int i = 0; i < 4; ++i) {
    epochs[i].epoch = i + 1;
    epochs[i].train_seconds = 1.5 + i;
    epochs[i].eval_seconds = 0.25;
    epochs[i].test_accuracy = acc[i];
    epochs[i].val_accuracy = acc[3 - i];
    epochs[i].val_loss = 1.0 - acc[3 - i];
  }
  json exp = {{"target_accuracy", 0.98}, {"target_metric", "test_accuracy"}};
  json s = summary_json(epochs, 20, exp);
  CHECK(s["epochs_to_target"] == 3);
  CHECK(s["time_to_target_seconds"].get<double>() == 1.5 + 2.5 + 3.5);
  CHECK(s["eval_seconds_to_target"].get<double>() == 0.75);
  CHECK(s["best_test_accuracy"] == 0.99);
  exp["target_accuracy"] = 0.995;
  s = summary_json(epochs, 20, exp);
  CHECK(s["time_to_target_seconds"].is_null());
  CHECK(s["epochs_to_target"].is_null());
  // With validation: best_* come from validation, the target from val_accuracy.
  exp = {{"validation_split", 0.1}, {"target_accuracy", 0.98}, {"target_metric", "val_accuracy"}};
  s = summary_json(epochs, 20, exp);
  CHECK(s["epochs_to_target"] == 1);
  CHECK(s["best_epoch"] == 1);
  CHECK(s["best_val_accuracy"] == 0.99);
  CHECK(s["test_accuracy_at_best_epoch"] == 0.90);
  CHECK_FALSE(s.contains("best_test_accuracy"));
}

TEST_CASE("after restore_best_weights the summary describes the restored model, the last epoch under its own keys", "[keras][summary]") {
  std::vector<EpochResult> epochs(4);
  const double test_acc[] = {0.80, 0.90, 0.85, 0.95}, val_acc[] = {0.70, 0.92, 0.91, 0.90};
  for (int i = 0; i < 4; ++i) {
    epochs[i].epoch = i + 1;
    epochs[i].test_accuracy = test_acc[i];
    epochs[i].test_loss = 1.0 - test_acc[i];
    epochs[i].val_accuracy = val_acc[i];
    epochs[i].val_loss = 1.0 - val_acc[i];
  }
  CallbackEvent stop, restore;
  stop.epoch = restore.epoch = 4;
  stop.callback = restore.callback = "early_stopping";
  stop.action = "stop_training";
  restore.action = "restore_best_weights";
  restore.restored_epoch = 2;
  const json events = {callback_event_json(stop), callback_event_json(restore)};
  CHECK(events[1]["restored_epoch"] == 2);
  CHECK(callback_event_from_json(events[1]).restored_epoch == 2);
  const json exp = {{"validation_split", 0.1}};
  json s = summary_json(epochs, 20, exp, events);
  CHECK(s["weights_epoch"] == 2);
  CHECK(s["restored_epoch"] == 2);
  CHECK(s["final_test_accuracy"] == 0.90);
  CHECK(s["final_test_loss"] == 1.0 - 0.90);
  CHECK(s["final_val_accuracy"] == 0.92);
  CHECK(s["final_val_loss"] == 1.0 - 0.92);
  CHECK(s["last_epoch"] == 4);
  CHECK(s["last_epoch_test_accuracy"] == 0.95);
  CHECK(s["last_epoch_test_loss"] == 1.0 - 0.95);
  CHECK(s["last_epoch_val_accuracy"] == 0.90);
  CHECK(s["last_epoch_val_loss"] == 1.0 - 0.90);
  CHECK_FALSE(s.contains("best_test_accuracy"));  // chosen on validation, never on test
  // Without a restore the run ends with the last epoch's weights.
  s = summary_json(epochs, 20, exp, json::array({events[0]}));
  CHECK(s["weights_epoch"] == 4);
  CHECK(s["restored_epoch"].is_null());
  CHECK(s["final_test_accuracy"] == 0.95);
  CHECK(s["final_val_accuracy"] == 0.90);
}

TEST_CASE("the transcript's target line says whether and when the summary's target was reached", "[keras][target]") {
  json s = {{"target_accuracy", 0.98}, {"target_metric", "val_accuracy"}, {"epochs_to_target", 4},
            {"time_to_target_seconds", 12.344}, {"eval_seconds_to_target", 0.6678}, {"last_epoch", 11}};
  CHECK(target_report(s) == "Target 98.00% val_accuracy: reached at epoch 4, after 12.34 s of training "
                            "(13.01 s with evaluation)");
  s["epochs_to_target"] = s["time_to_target_seconds"] = s["eval_seconds_to_target"] = nullptr;
  CHECK(target_report(s) == "Target 98.00% val_accuracy: not reached in 11 epochs");
  CHECK(target_report(json{{"wall_seconds", 1.0}}).empty());
}

TEST_CASE("the confusion matrix sums to the test set and its diagonal to the correct ones", "[keras][evaluation]") {
  Experiment e = tiny();
  Trainer t(e, data().train, data().test, 2);
  REQUIRE(t.run({}) == StopReason::kCompleted);
  const Evaluation& ev = *t.final_test();
  REQUIRE(ev.classes == 10);
  uint64_t total = 0, diagonal = 0;
  for (size_t i = 0; i < 10; ++i) {
    for (size_t j = 0; j < 10; ++j) total += ev.confusion[i * 10 + j];
    diagonal += ev.confusion[i * 11];
  }
  CHECK(total == data().test.size());
  CHECK(static_cast<double>(diagonal) / total == ev.accuracy);
  CHECK(ev.accuracy == t.state().history.back().test_accuracy);
  const json j = evaluation_json(ev);
  CHECK(j["samples"] == data().test.size());
  for (const auto& c : j["per_class"]) {
    const size_t k = c["class"];
    uint64_t row = 0;
    for (size_t p = 0; p < 10; ++p) row += ev.confusion[k * 10 + p];
    CHECK(c["support"] == row);
    if (row) CHECK(c["recall"].get<double>() == static_cast<double>(ev.confusion[k * 11]) / row);
  }
}

// ---- resume ------------------------------------------------------------------------------------

TEST_CASE("resume with callbacks and a schedule is bitwise", "[keras][resume][training]") {
  for (const bool plateau : {false, true}) {
    INFO((plateau ? "reduce_lr_on_plateau" : "CosineDecay with warmup"));
    Dataset train = data().train;
    Dataset val = split_off_tail(train, 424);
    Experiment e = tiny();
    e.epochs = 8;
    e.validation_split = 0.2;
    EarlyStoppingSpec es;
    es.monitor = "val_accuracy";
    es.patience = 3;
    es.restore_best_weights = true;
    e.callbacks.early_stopping = es;
    if (plateau) {
      ReduceLrOnPlateauSpec r;
      r.monitor = "loss";
      r.mode = "max";  // reduces every second epoch: the state changes often
      r.patience = 1;
      r.min_delta = 0;
      e.callbacks.reduce_lr_on_plateau = r;
    } else {
      e.optimizer.schedule = schedule({{"class_name", "CosineDecay"},
                                       {"config", {{"initial_learning_rate", 0.0}, {"decay_steps", 60},
                                                   {"warmup_target", 0.003}, {"warmup_steps", 20}}}});
      e.optimizer.learning_rate = 0;  // what parsing sets: the schedule's rate at step 0
    }
    Trainer full(e, train, data().test, 2, &val);
    REQUIRE(full.run({}) == StopReason::kCompleted);
    if (plateau) REQUIRE(full.state().events.size() >= 2);

    // Interrupt after 30 updates (mid-epoch 3), and again at an epoch's end, then resume.
    for (const int stop_after : {30, 2 * 14}) {
      INFO("interrupted after update " << stop_after);
      const std::string ckpt = test_support::temp_dir() + "/run.ckpt";
      {
        Trainer part(e, train, data().test, 2, &val);
        int polls = 0;
        TrainCallbacks cb;
        cb.stop_requested = [&] { return ++polls == stop_after; };
        REQUIRE(part.run(cb) == StopReason::kInterrupted);
        // The run info a checkpoint must carry (docs/formats.md); the values do not matter here.
        mlpbench::RunInfo info;
        info.log = "/nowhere/run.json";
        save_checkpoint(ckpt, e, part, info);
      }
      const Checkpoint c = read_checkpoint(ckpt);
      REQUIRE(c.experiment == e);
      Trainer resumed(c.experiment, train, data().test, 2, &val);
      restore_checkpoint(c, resumed);
      REQUIRE(resumed.run({}) == StopReason::kCompleted);
      REQUIRE(same_bits(params_of(full), params_of(resumed)));
      const auto& a = full.state().history;
      const auto& b = resumed.state().history;
      REQUIRE(a.size() == b.size());
      for (size_t i = 0; i < a.size(); ++i) {
        CHECK(a[i].train_loss == b[i].train_loss);
        CHECK(a[i].val_loss == b[i].val_loss);
        CHECK(a[i].test_accuracy == b[i].test_accuracy);
        CHECK(a[i].learning_rate == b[i].learning_rate);
        // Phase times: the checkpoint keeps those of the epochs it holds; a resumed epoch's
        // cover the steps the resuming process ran.
        CHECK(b[i].phase_steps <= b[i].steps);
        CHECK(b[i].phases.size() == (b[i].phase_steps ? 2u : 0u));
      }
      CHECK(b[0].phase_steps == b[0].steps);
      if (stop_after == 30) CHECK(b[2].phase_steps == b[2].steps - 2);
      REQUIRE(full.state().events.size() == resumed.state().events.size());
      for (size_t i = 0; i < full.state().events.size(); ++i) {
        CHECK(full.state().events[i].reason == resumed.state().events[i].reason);
      }
    }
  }
}

// ---- experiment files --------------------------------------------------------------------------

namespace {
json keras_experiment() {
  return test_support::parse_json(R"({
    "name": "keras", "dataset": "mnist",
    "model": [{"units": 16, "activation": "relu"}, {"units": 10, "activation": "softmax"}],
    "loss": "sparse_categorical_crossentropy", "epochs": 4, "batch_size": 32,
    "optimizer": {"name": "adam", "learning_rate": {"class_name": "CosineDecay",
                  "config": {"initial_learning_rate": 0.001, "decay_steps": 1000,
                             "warmup_target": 0.002, "warmup_steps": 100}}},
    "validation_split": 0.1,
    "callbacks": {"early_stopping": {"monitor": "val_accuracy", "patience": 2,
                                     "restore_best_weights": true}},
    "target_accuracy": 0.9
  })");
}

std::string error_of(const json& j) {
  try {
    parse_experiment(j, "exp.json");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "(no error)";
}
}  // namespace

TEST_CASE("experiment files take the Keras keys, with Keras defaults, and round-trip", "[keras][experiment]") {
  const Experiment e = parse_experiment(keras_experiment(), "exp.json");
  REQUIRE(e.optimizer.schedule);
  CHECK(e.optimizer.schedule->kind == ScheduleKind::kCosineDecay);
  CHECK(e.optimizer.learning_rate == 0.001);
  CHECK(e.validation_split == 0.1);
  CHECK(e.target_metric == "val_accuracy");  // the default with a validation split
  const EarlyStoppingSpec& es = *e.callbacks.early_stopping;
  CHECK(es.min_delta == 0);
  CHECK(es.mode == "auto");
  CHECK(!es.baseline);
  CHECK(es.start_from_epoch == 0);
  json r = keras_experiment();
  r["callbacks"] = {{"reduce_lr_on_plateau", json::object()}};
  r["optimizer"]["learning_rate"] = 0.01;
  const ReduceLrOnPlateauSpec p = *parse_experiment(r, "exp.json").callbacks.reduce_lr_on_plateau;
  CHECK(p.monitor == "val_loss");
  CHECK(p.factor == 0.1);
  CHECK(p.patience == 10);
  CHECK(p.min_delta == 1e-4);
  CHECK(p.cooldown == 0);
  CHECK(p.min_lr == 0);
  CHECK(parse_experiment(e.to_json(), "log") == e);
  CHECK(parse_experiment(parse_experiment(r, "x").to_json(), "log") == parse_experiment(r, "x"));
  // Without the new keys, the resolved JSON has none of them.
  json plain = keras_experiment();
  for (const char* k : {"validation_split", "callbacks", "target_accuracy"}) plain.erase(k);
  plain["optimizer"]["learning_rate"] = 0.001;
  const json resolved = parse_experiment(plain, "x").to_json();
  for (const char* k : {"validation_split", "callbacks", "target_accuracy", "target_metric"}) {
    CHECK_FALSE(resolved.contains(k));
  }
}

TEST_CASE("bad Keras keys name the file and the field", "[keras][experiment]") {
  auto with = [](const std::string& pointer, const json& v) {
    json j = keras_experiment();
    j[json::json_pointer(pointer)] = v;
    return error_of(j);
  };
  CHECK_THAT(with("/validation_split", 1.0), Catch::Contains("exp.json: /validation_split: expected a number in [0, 1)"));
  CHECK_THAT(with("/optimizer/learning_rate/class_name", "CosineDecayy"),
             Catch::Contains("/optimizer/learning_rate/class_name") && Catch::Contains("did you mean \"CosineDecay\""));
  CHECK_THAT(with("/optimizer/learning_rate/config/decay_steps", 0),
             Catch::Contains("/optimizer/learning_rate/config/decay_steps"));
  CHECK_THAT(with("/optimizer/learning_rate/config/decay_rate", 0.5),
             Catch::Contains("/optimizer/learning_rate/config/decay_rate: unknown key"));
  // A rate of 0 throughout is refused; a decay_rate above 1 (a growing rate) is Keras' and allowed.
  for (const char* no_warmup : {"/optimizer/learning_rate/config/warmup_target", "/optimizer/learning_rate/config/warmup_steps"}) {
    json zero = keras_experiment();
    zero[json::json_pointer("/optimizer/learning_rate/config/initial_learning_rate")] = 0.0;
    CHECK(error_of(zero) == "(no error)");  // with the warmup
    zero[json::json_pointer(no_warmup)] = std::string(no_warmup).ends_with("steps") ? json(0) : json(nullptr);
    CHECK_THAT(error_of(zero), Catch::Contains("/optimizer/learning_rate/config/initial_learning_rate: 0 without a warmup"));
  }
  json grows = keras_experiment();
  grows["optimizer"]["learning_rate"] = {{"class_name", "ExponentialDecay"},
                                         {"config", {{"initial_learning_rate", 0.001}, {"decay_steps", 10}, {"decay_rate", 1.05}}}};
  CHECK(error_of(grows) == "(no error)");
  CHECK_THAT(with("/callbacks/early_stopping/patiense", 3), Catch::Contains("did you mean \"patience\""));
  CHECK_THAT(with("/callbacks/early_stopping/mode", "maximum"), Catch::Contains("/callbacks/early_stopping/mode"));
  CHECK_THAT(with("/callbacks/model_checkpoint", json::object()), Catch::Contains("/callbacks/model_checkpoint: unknown key"));
  CHECK_THAT(with("/callbacks/reduce_lr_on_plateau", {{"factor", 1.0}}),
             Catch::Contains("/callbacks/reduce_lr_on_plateau/factor"));
  // ReduceLROnPlateau cannot set a schedule's rate (Keras refuses it too).
  CHECK_THAT(with("/callbacks/reduce_lr_on_plateau", json::object()),
             Catch::Contains("cannot be combined with a learning-rate schedule"));
  CHECK_THAT(with("/target_accuracy", 1.5), Catch::Contains("/target_accuracy"));
  json no_val = keras_experiment();
  no_val.erase("validation_split");
  CHECK_THAT(error_of(no_val), Catch::Contains("/callbacks/early_stopping/monitor: \"val_accuracy\" needs a validation set"));
  no_val.erase("callbacks");
  no_val["target_metric"] = "val_accuracy";
  CHECK_THAT(error_of(no_val), Catch::Contains("/target_metric"));
  json pw = keras_experiment();
  pw["optimizer"]["learning_rate"] = {{"class_name", "PiecewiseConstantDecay"},
                                      {"config", {{"boundaries", {10, 5}}, {"values", {0.1, 0.01, 0.001}}}}};
  CHECK_THAT(error_of(pw), Catch::Contains("/optimizer/learning_rate/config/boundaries/1: expected boundaries in increasing order"));
  pw["optimizer"]["learning_rate"]["config"]["boundaries"] = {5};
  CHECK_THAT(error_of(pw), Catch::Contains("one more value than boundaries"));
}

TEST_CASE("run_experiment logs validation, callbacks, rates, the target and the confusion matrix", "[keras][cli]") {
  const std::string dir = test_support::temp_dir();
  test_support::write_tiny_mnist(dir + "/data", 530, 120);
  json e = keras_experiment();
  e["threads"] = 2;
  e["callbacks"]["early_stopping"]["patience"] = 1;
  const std::string exp = dir + "/exp.json", log = dir + "/log.json";
  test_support::write_file(exp, test_support::dump_json(e));
  const auto r = test_support::run(test_support::run_experiment_path() + " --data-dir " + dir + "/data " + exp +
                                   " --out " + log);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.find("Validating on the last 53 training samples") != std::string::npos);  // 530 - floor(477.0)
  CHECK(r.err.find(" - val_loss: ") != std::string::npos);
  CHECK(r.err.find(" - learning_rate: ") != std::string::npos);
  const json j = test_support::parse_json(test_support::read_file(log));
  CHECK(j["run"]["train_samples"] == 477);
  CHECK(j["run"]["validation_samples"] == 53);
  for (const auto& ep : j["epochs"]) {
    CHECK(ep.contains("val_loss"));
    CHECK(ep.contains("val_accuracy"));
    CHECK(ep.contains("learning_rate"));
  }
  CHECK(j["summary"].contains("best_val_accuracy"));
  CHECK_FALSE(j["summary"].contains("best_test_accuracy"));
  CHECK(j["summary"]["target_metric"] == "val_accuracy");
  CHECK(j["summary"].contains("time_to_target_seconds"));
  CHECK(r.err.find(target_report(j["summary"]) + "\n") != std::string::npos);
  CHECK(j.contains("callback_events"));
  // The summary describes the weights the run ends with, as the evaluation does.
  CHECK(j["summary"]["final_test_accuracy"] == j["evaluation"]["test_accuracy"]);
  CHECK(j["summary"]["final_test_loss"] == j["evaluation"]["test_loss"]);
  uint64_t total = 0;
  for (const auto& row : j["evaluation"]["confusion_matrix"]) {
    for (const auto& n : row) total += n.get<uint64_t>();
  }
  CHECK(total == 120);
  CHECK(j["evaluation"]["per_class"].size() == 10);
}

}  // namespace test_keras
