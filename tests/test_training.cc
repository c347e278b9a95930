// The training loop: determinism across thread counts and seeds, learning, divergence.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "mlpbench/dataset.h"
#include "mlpbench/experiment.h"
#include "mlpbench/parallel.h"
#include "mlpbench/run_log.h"
#include "mlpbench/trainer.h"
#include "test_support.h"

namespace test_training {

using namespace mlpbench;
using enum Activation;

namespace {

using test_support::tiny_data;

Experiment tiny_experiment() {
  Experiment e;
  e.name = "tiny";
  e.model = {{24, kRelu}, {16, kRelu}, {10, kSoftmax}};
  e.epochs = 3;
  e.batch_size = 32;
  e.seed = 5;
  return e;
}

using test_support::TrainOutcome;

TrainOutcome train(const Experiment& e, int threads) { return test_support::train_tiny(e, threads); }

void require_same_numbers(const TrainOutcome& a, const TrainOutcome& b) {
  REQUIRE(test_support::same_numbers(a, b));
}

}  // namespace

TEST_CASE("results are bitwise identical for 1, 2 and 3 threads", "[training][determinism]") {
  for (const OptimizerKind optimizer : {OptimizerKind::kAdam, OptimizerKind::kSgd}) {
    Experiment e = tiny_experiment();
    e.optimizer.kind = optimizer;
    if (optimizer == OptimizerKind::kSgd) e.optimizer.learning_rate = 0.05, e.optimizer.momentum = 0.9;
    INFO(optimizer_name(optimizer));
    const TrainOutcome one = train(e, 1);
    for (int threads : {2, 3}) {
      if (test_support::team_of(threads)) require_same_numbers(one, train(e, threads));
    }
  }
}

TEST_CASE("the same seed gives the same run, another seed another", "[training][determinism]") {
  Experiment e = tiny_experiment();
  const TrainOutcome a = train(e, 2);
  require_same_numbers(a, train(e, 2));
  e.seed = 6;
  const TrainOutcome c = train(e, 2);
  REQUIRE(a.history[0].train_loss != c.history[0].train_loss);
}

TEST_CASE("training learns the tiny dataset and keeps the last partial batch", "[training]") {
  Experiment e = tiny_experiment();
  const TrainOutcome out = train(e, 2);
  REQUIRE(out.history.size() == 3);
  REQUIRE(out.history[0].steps == 17);  // ceil(530 / 32)
  REQUIRE(out.history.back().test_accuracy > 0.9);
  REQUIRE(out.history.back().train_loss < out.history.front().train_loss);
  for (const auto& r : out.history) {
    REQUIRE(r.train_seconds > 0);
    REQUIRE(r.gflops > 0);
    if (have_openmp()) REQUIRE(r.barrier_us > 0);  // a team of two
  }
  // A team of one has no barrier to time.
  REQUIRE(std::isnan(train(e, 1).history.front().barrier_us));
}

TEST_CASE("every epoch records each thread's step phases, within its train time", "[training][phases]") {
  Experiment e = tiny_experiment();
  for (int threads : {1, 2, 3}) {
    INFO(threads << " threads");
    const int granted = test_support::granted_threads(threads);
    const TrainOutcome out = train(e, threads);
    for (const EpochResult& r : out.history) {
      REQUIRE(r.phase_steps == r.steps);
      REQUIRE(r.phases.size() == static_cast<size_t>(granted));
      for (const StepPhaseSeconds& p : r.phases) {
        REQUIRE(p.layer0_forward >= 0);
        REQUIRE(p.upper_layers_or_gather >= 0);
        REQUIRE(p.barrier_wait >= 0);
        REQUIRE(p.layer0_backward_update >= 0);
        // Every thread passed through the steps, so their time is not all zero.
        REQUIRE(p.layer0_forward + p.layer0_backward_update > 0);
        REQUIRE(p.layer0_forward + p.upper_layers_or_gather + p.barrier_wait +
                    p.layer0_backward_update <= r.train_seconds);
      }
      const nlohmann::json j = epoch_json(r);
      REQUIRE(j["phases"]["steps"] == r.steps);
      REQUIRE(j["phases"]["threads"].size() == r.phases.size());
      REQUIRE(j["phases"]["threads"][0]["barrier_wait_seconds"] == r.phases[0].barrier_wait);
    }
  }
}

TEST_CASE("an epoch without timed steps logs no phases", "[training][phases]") {
  EpochResult r;
  r.steps = 4;
  REQUIRE_FALSE(epoch_json(r).contains("phases"));
}

TEST_CASE("a diverging run stops with the epoch and step", "[training]") {
  Experiment e = tiny_experiment();
  e.optimizer.kind = OptimizerKind::kSgd;
  e.optimizer.learning_rate = 10;  // the largest rate validation accepts
  e.model = {{64, kLinear}, {64, kLinear}, {10, kSoftmax}};  // no dead ReLUs to save it
  e.epochs = 50;
  Trainer trainer(e, tiny_data().train, tiny_data().test, 2);
  REQUIRE(trainer.run({}) == StopReason::kDiverged);
  const auto [epoch, step] = trainer.diverged_at();
  REQUIRE(epoch >= 1);
  REQUIRE(step >= 1);
  REQUIRE(trainer.state().history.size() == static_cast<size_t>(epoch - 1));
}

TEST_CASE("a stop request ends the run after the current step", "[training]") {
  Experiment e = tiny_experiment();
  Trainer trainer(e, tiny_data().train, tiny_data().test, 2);
  int polls = 0;
  TrainCallbacks cb;
  cb.stop_requested = [&] { return ++polls == 5; };
  REQUIRE(trainer.run(cb) == StopReason::kInterrupted);
  REQUIRE(trainer.state().epoch == 0);
  REQUIRE(trainer.state().step == 5);
  REQUIRE(trainer.state().updates == 5);
}

TEST_CASE("the OpenMP build grants the thread counts the determinism tests compare",
          "[threads][determinism]") {
  if (!have_openmp()) {
    WARN("SKIPPED: a build without OpenMP runs every team on one thread, so the thread-count "
         "determinism tests compare nothing");
    return;
  }
  for (int threads : {1, 2, 3}) {
    INFO(threads << " thread(s) asked");
    REQUIRE(test_support::granted_threads(threads) == threads);
  }
}

TEST_CASE("a run's host counts as noisy for a slow barrier or too many threads", "[training][runlog]") {
  // The machine is whatever it is while the tests run: no load share is passed here.
  auto reasons_about = [](const std::vector<std::string>& reasons, const std::string& what) {
    int n = 0;
    for (const auto& r : reasons) n += r.find(what) != std::string::npos;
    return n;
  };
  std::vector<EpochResult> epochs(2);
  epochs[0].barrier_us = 0.07;  // quiet; epochs[1]: a team of one, NaN
  REQUIRE(reasons_about(host_noise_reasons(epochs, 1), "team barrier") == 0);
  REQUIRE(reasons_about(host_noise_reasons(epochs, 1), "threads on") == 0);
  epochs[1].barrier_us = 250.0;
  const auto slow = host_noise_reasons(epochs, 1);
  REQUIRE(reasons_about(slow, "team barrier 250.00 us") == 1);
  const int cpus = available_cpus();
  REQUIRE(reasons_about(host_noise_reasons(epochs, cpus + 1), "threads on") == 1);
}

TEST_CASE("other processes' CPU time and steal during a run make a host noisy; the run's own does not",
          "[training][runlog]") {
  HostLoadSample from, to;
  from.cpus = to.cpus = 2;
  from.wall_s = 100;
  to.wall_s = 110;  // 20 CPU-seconds of capacity
  from.busy_s = 1000;
  from.self_s = 5;
  from.steal_s = 7;
  // The run used both CPUs all the time (20 s), others 1 s, the hypervisor 0.4 s.
  to.busy_s = 1021;
  to.self_s = 25;
  to.steal_s = 7.4;
  auto share = host_load_between(from, to);
  REQUIRE(share);
  REQUIRE(share->others == Approx(0.05));
  REQUIRE(share->steal == Approx(0.02));
  std::vector<EpochResult> epochs(1);
  REQUIRE(host_noise_reasons(epochs, 2, share).empty());
  to.busy_s = 1029;  // others: 9 s of 20 = 45 %
  to.steal_s = 9;    // steal: 2 s of 20 = 10 %
  share = host_load_between(from, to);
  auto reasons = host_noise_reasons(epochs, 2, share);
  REQUIRE(reasons.size() == 2);
  REQUIRE(reasons[0] == "other processes used 45 % of the 2 CPUs' time during the run");
  REQUIRE(reasons[1] == "the hypervisor took 10 % of the 2 CPUs' time (steal)");
  // Another rank of the same run on the node, one thread: half the machine is expected.
  REQUIRE(host_noise_reasons(epochs, 2, share, 1.0).size() == 1);
  // Too short to tell, or no /proc/stat: no verdict.
  to.wall_s = from.wall_s + 0.2;
  REQUIRE_FALSE(host_load_between(from, to));
  to.wall_s = 110;
  from.cpus = 0;
  REQUIRE_FALSE(host_load_between(from, to));
}

TEST_CASE("the host-load sample reads this machine's counters", "[training][runlog]") {
  const HostLoadSample s = sample_host_load();
  REQUIRE(s.cpus >= 1);
  REQUIRE(s.busy_s > 0);
  REQUIRE(s.self_s >= 0);
}

}  // namespace test_training
