// resolve_run and the run information checkpoints carry: every rule of the plan and every path
// it plans, without data, files or MPI.
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "mlpbench/errors.h"
#include "mlpbench/run_info.h"
#include "mlpbench/run_plan.h"
#include "test_support.h"

namespace test_run_plan {

using mlpbench::Checkpoint;
using mlpbench::ConfigError;
using mlpbench::Experiment;
using mlpbench::LrRule;
using mlpbench::PlannedRun;
using mlpbench::RunFacts;
using mlpbench::RunOptions;
using mlpbench::RunPlan;
using nlohmann::json;

namespace {

const std::string kSource = "experiments/plan.json";

// Batch 32, rate 0.001, 4 epochs, 4 shards.
Experiment experiment() {
  return mlpbench::parse_experiment(test_support::parse_json(R"({
    "name": "plan", "dataset": "mnist",
    "model": [{"units": 16, "activation": "relu"}, {"units": 10, "activation": "softmax"}],
    "loss": "sparse_categorical_crossentropy",
    "optimizer": {"name": "adam", "learning_rate": 0.001},
    "epochs": 4, "batch_size": 32, "shards": 4, "seed": 1})"), kSource);
}

// A machine with 2 logical CPUs whose default target is AVX2, at 12:00:00 on 1 Jan 2026, pid 77.
RunFacts facts() {
  return {"20260101T120000Z", 77, "/runs", "AVX2", {"AVX2", "SSE4", "SCALAR"}, 2};
}

RunPlan resolve(const RunOptions& o, const Checkpoint* checkpoint = nullptr) {
  return mlpbench::resolve_run(o, checkpoint ? checkpoint->experiment : experiment(), kSource, checkpoint, facts());
}

std::vector<std::string> logs_of(const RunPlan& p) {
  std::vector<std::string> logs;
  for (const PlannedRun& r : p.runs) logs.push_back(r.log);
  return logs;
}

std::string error_of(const RunOptions& o) {
  try {
    resolve(o);
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "<no error>";
}

// A checkpoint of a run that scaled its rate linearly to batch 64 (its experiment holds the
// scaled rate), on 1,000 training samples, with a warmup of one epoch.
Checkpoint resumable() {
  Checkpoint c;
  c.experiment = experiment();
  c.experiment.batch_size = 64;
  c.experiment.optimizer.learning_rate = 0.002;
  c.run_info.train_limit = 1000;
  c.run_info.test_limit = 200;
  c.run_info.lr_scaling = mlpbench::LrScaling{LrRule::kLinear, 32, 0.001, 1};
  c.run_info.reference_applies = false;
  c.run_info.run_id = "0123456789abcdef0123456789abcdef";
  c.run_info.log = "/runs/plan.json";
  c.path = "/ckpt/plan.ckpt";
  c.run_info.identity = json{{"simd_target", "SSE4"}, {"reduction", "mpi"}, {"ranks", 2}};
  return c;
}

}  // namespace

TEST_CASE("plan: the file's experiment as it is, the reference figure applies", "[plan]") {
  const RunPlan p = resolve(RunOptions{});
  REQUIRE(p.experiment.batch_size == 32);
  REQUIRE(p.experiment.optimizer.learning_rate == 0.001);
  REQUIRE(p.lr_rule == LrRule::kNone);
  REQUIRE_FALSE(p.info.lr_scaling);
  REQUIRE(p.info.reference_applies);
  REQUIRE(p.info.run_id.empty());  // a new run gets its id when it starts
  REQUIRE_FALSE(p.sweep.any());
  REQUIRE_FALSE(p.distributed);
}

TEST_CASE("plan: overrides, and the rate scaled to the batch size by the rule", "[plan]") {
  RunOptions o;
  o.batch_size = 128;
  o.epochs = 2;
  o.seed = 9;
  o.shards = 2;
  o.train_limit = 500;
  SECTION("linear") {
    o.lr_scaling = "linear";
    o.warmup_epochs = 2;
    const RunPlan p = resolve(o);
    REQUIRE(p.experiment.optimizer.learning_rate == 0.001 * 4);
    REQUIRE(p.info.lr_scaling->rule == LrRule::kLinear);
    REQUIRE(p.info.lr_scaling->base_batch_size == 32);
    REQUIRE(*p.info.lr_scaling->base_learning_rate == 0.001);
    REQUIRE(p.info.lr_scaling->warmup_epochs == 2);
  }
  SECTION("sqrt") {
    o.lr_scaling = "sqrt";
    const RunPlan p = resolve(o);
    REQUIRE(p.experiment.optimizer.learning_rate == 0.001 * std::sqrt(4.0));
  }
  SECTION("none") {
    const RunPlan p = resolve(o);
    REQUIRE(p.experiment.optimizer.learning_rate == 0.001);
    REQUIRE_FALSE(p.info.lr_scaling);
  }
  const RunPlan p = resolve(o);
  REQUIRE(p.experiment.batch_size == 128);
  REQUIRE(p.experiment.epochs == 2);
  REQUIRE(p.experiment.seed == 9);
  REQUIRE(p.experiment.shards == 2);
  REQUIRE(p.as_written.batch_size == 32);
  REQUIRE(p.info.train_limit == 500);
  REQUIRE_FALSE(p.info.reference_applies);
}

TEST_CASE("plan: bad values are refused naming the option", "[plan]") {
  RunOptions o;
  o.warmup_epochs = 1;
  REQUIRE(error_of(o).rfind("--warmup-epochs: needs --lr-scaling linear or sqrt", 0) == 0);
  o.lr_scaling = "linear";
  o.warmup_epochs = 5;
  REQUIRE(error_of(o) == "--warmup-epochs: 5 epochs of warmup in a run of 4; give at most the run's epochs");
  o = RunOptions{};
  o.lr_scaling = "cubic";
  REQUIRE(error_of(o) == "--lr-scaling: expected none, linear or sqrt, got \"cubic\"");
  o = RunOptions{};
  o.sweep_threads = {1, 2, 1};
  REQUIRE(error_of(o) == "--sweep-threads: 1 is given twice (each count is one run and one log)");
  o.sweep_threads = {2000};
  REQUIRE(error_of(o) == "--sweep-threads: expected counts from 1 to 1024, got 2000");
  o = RunOptions{};
  o.sweep_batch_size = {64, 64};
  REQUIRE(error_of(o) == "--sweep-batch-size: 64 is given twice (each size is one run and one log)");
  o.sweep_batch_size = {70000};
  REQUIRE(error_of(o) == "--sweep-batch-size: expected sizes from 1 to 65536, got 70000");
  o = RunOptions{};
  o.sweep_simd = {"SSE4", "SSE4"};
  REQUIRE(error_of(o) == "--sweep-simd: SSE4 is given twice");
  o = RunOptions{};
  o.shards = 3;  // the experiment's own validation, with the override applied
  REQUIRE(error_of(o).rfind(kSource + ": ", 0) == 0);
}

TEST_CASE("plan: a batch-size sweep records the rule and scales each size from the file's rate", "[plan]") {
  RunOptions o;
  o.sweep_batch_size = {32, 64};
  o.lr_scaling = "linear";
  const RunPlan p = resolve(o);
  REQUIRE(p.sweep.any());
  REQUIRE(p.info.lr_scaling->rule == LrRule::kLinear);
  const Experiment e = mlpbench::at_batch_size(p, 64);
  REQUIRE(e.batch_size == 64);
  REQUIRE(e.optimizer.learning_rate == 0.002);
  REQUIRE(mlpbench::at_batch_size(p, 32).optimizer.learning_rate == 0.001);
  o.lr_scaling = "none";  // no rule: still recorded, so that the log says the rate was kept
  REQUIRE(resolve(o).info.lr_scaling->rule == LrRule::kNone);
}

TEST_CASE("plan: a resumed run keeps what its first part decided", "[plan][resume]") {
  const Checkpoint c = resumable();
  RunOptions o;
  o.distributed = true;
  o.epochs = 6;
  const RunPlan p = resolve(o, &c);
  REQUIRE(p.experiment.optimizer.learning_rate == 0.002);  // not scaled again
  REQUIRE(p.experiment.epochs == 6);
  REQUIRE(p.info.train_limit == 1000);
  REQUIRE(p.info.test_limit == 200);
  REQUIRE(p.info.lr_scaling->warmup_epochs == 1);
  REQUIRE(p.info.run_id == c.run_info.run_id);
  REQUIRE(p.simd_target == "SSE4");
  REQUIRE(p.reduction == mlpbench::Reduction::kMpi);
  o.reduction = "tree";  // given: the command line's (run_identity.cc refuses a different one)
  REQUIRE(resolve(o, &c).reduction == mlpbench::Reduction::kTree);
}

TEST_CASE("plan: the rank count, and weak scaling's global batch and rate", "[plan][distributed]") {
  RunOptions o;
  o.distributed = true;
  RunPlan p = resolve(o);
  REQUIRE_THROWS_WITH(mlpbench::apply_rank_count(p, 3), Catch::StartsWith("--distributed: 3 ranks cannot share 4 shards"));
  mlpbench::apply_rank_count(p, 4);
  REQUIRE(p.experiment.batch_size == 32);  // strong scaling: the experiment's batch
  o.batch_size_per_rank = 32;
  o.lr_scaling = "linear";
  p = resolve(o);
  mlpbench::apply_rank_count(p, 2);
  REQUIRE(p.experiment.batch_size == 64);
  REQUIRE(p.experiment.optimizer.learning_rate == 0.002);
  o.batch_size_per_rank = 65536;
  p = resolve(o);
  REQUIRE_THROWS_WITH(mlpbench::apply_rank_count(p, 2),
                      "--batch-size-per-rank: 65536 rows x 2 ranks = a global batch of 131072, above the "
                      "largest batch size 65536");
  o.batch_size_per_rank = 1;
  p = resolve(o);
  REQUIRE_THROWS_WITH(mlpbench::apply_rank_count(p, 2),
                      "--batch-size-per-rank: 1 rows x 2 ranks = a global batch of 2, fewer rows than the 4 shards");
}

TEST_CASE("run info: JSON round trip, optional fields absent when unset", "[plan][checkpoint]") {
  const Checkpoint c = resumable();
  const json j = mlpbench::run_info_json(c.run_info);
  REQUIRE(j.at("lr_scaling") == json{{"rule", "linear"}, {"base_batch_size", 32}, {"base_learning_rate", 0.001},
                                     {"warmup_epochs", 1}});
  REQUIRE(mlpbench::run_info_json(mlpbench::run_info_from_json(j)) == j);
  const json bare = mlpbench::run_info_json(mlpbench::RunInfo{});
  for (const char* key : {"lr_scaling", "batch_size_per_rank", "log", "started_utc", "identity"}) {
    REQUIRE_FALSE(bare.contains(key));
  }
  REQUIRE(mlpbench::lr_factor(LrRule::kSqrt, 128, 32) == 2.0);
  REQUIRE(mlpbench::parse_lr_rule("linear") == LrRule::kLinear);
  REQUIRE_FALSE(mlpbench::parse_lr_rule("Linear"));
}

TEST_CASE("plan paths: one run's generated log, its checkpoint beside it, and the next attempt's names",
          "[plan][paths]") {
  RunPlan p = resolve(RunOptions{});
  REQUIRE(p.sweep_folder.empty());
  REQUIRE(p.runs.size() == 1);
  const PlannedRun& r = p.runs.front();
  REQUIRE(r.threads == 2);  // neither --threads nor the experiment: every logical CPU
  REQUIRE(r.log == "/runs/plan/20260101T120000Z-s1-t2-p77.json");
  REQUIRE(r.log_is_default);
  REQUIRE(r.checkpoint == "/runs/plan/20260101T120000Z-s1-t2-p77.ckpt");
  REQUIRE(r.checkpoint_is_default);
  const PlannedRun third = mlpbench::nth_attempt(p, r, 3);
  REQUIRE(third.log == "/runs/plan/20260101T120000Z-s1-t2-p77-3.json");
  REQUIRE(third.checkpoint == "/runs/plan/20260101T120000Z-s1-t2-p77-3.ckpt");
  REQUIRE(mlpbench::nth_attempt(p, third, 1).log == r.log);
  RunOptions o;
  o.seed = 9;
  o.threads = 3;
  o.checkpoint = "keep.ckpt";  // given: it stays when the log's name moves on
  p = resolve(o);
  REQUIRE(p.runs.front().log == "/runs/plan/20260101T120000Z-s9-t3-p77.json");
  REQUIRE(mlpbench::nth_attempt(p, p.runs.front(), 2).log == "/runs/plan/20260101T120000Z-s9-t3-p77-2.json");
  REQUIRE(mlpbench::nth_attempt(p, p.runs.front(), 2).checkpoint == "keep.ckpt");
}

TEST_CASE("plan paths: --out names one run's log, its checkpoint follows unless given", "[plan][paths]") {
  RunOptions o;
  o.out = "out/run.json";
  RunPlan p = resolve(o);
  REQUIRE(p.runs.front().log == "out/run.json");
  REQUIRE_FALSE(p.runs.front().log_is_default);
  REQUIRE(p.runs.front().checkpoint == "out/run.ckpt");
  REQUIRE(mlpbench::nth_attempt(p, p.runs.front(), 2).log == "out/run.json");  // a given name is not changed
  o.checkpoint = "elsewhere/c.ckpt";
  p = resolve(o);
  REQUIRE(p.runs.front().checkpoint == "elsewhere/c.ckpt");
  REQUIRE_FALSE(p.runs.front().checkpoint_is_default);
}

TEST_CASE("plan paths: a sweep's folder and every run's log and checkpoint, in the order they run",
          "[plan][paths]") {
  RunOptions o;
  o.sweep_threads = {1, 2};
  o.sweep_simd = {"sse4", "AVX2"};  // file names spell a target as the machine does
  o.sweep_batch_size = {32, 64};
  o.sweep_repeats = 2;
  RunPlan p = resolve(o);
  REQUIRE(p.sweep_folder == "/runs/plan/sweep-20260101T120000Z-s1-p77");
  REQUIRE(p.runs.size() == 16);
  const std::string f = p.sweep_folder + "/plan-";
  REQUIRE(p.runs[0].log == f + "b32-t1-SSE4-r1.json");
  REQUIRE(p.runs[1].log == f + "b32-t2-SSE4-r1.json");
  REQUIRE(p.runs[2].log == f + "b32-t1-AVX2-r1.json");
  REQUIRE(p.runs[4].log == f + "b64-t1-SSE4-r1.json");
  REQUIRE(p.runs[15].log == f + "b64-t2-AVX2-r2.json");
  REQUIRE(p.runs[15].checkpoint == f + "b64-t2-AVX2-r2.ckpt");
  REQUIRE(p.runs[0].simd_target == "sse4");  // selected as given
  REQUIRE(p.runs[15].batch_size == 64);
  REQUIRE(p.runs[15].round == 2);
  for (const PlannedRun& r : p.runs) {
    REQUIRE_FALSE(r.log_is_default);  // a sweep's names are fixed: a taken one is an error
    REQUIRE(r.checkpoint == r.log.substr(0, r.log.size() - 5) + ".ckpt");
  }
  // --out is the folder; a thread sweep alone runs the default target; all is every supported one.
  o = RunOptions{};
  o.out = "sweeps/a";
  o.sweep_threads = {1, 4};
  p = resolve(o);
  REQUIRE(logs_of(p) == std::vector<std::string>{"sweeps/a/plan-t1-AVX2.json", "sweeps/a/plan-t4-AVX2.json"});
  o.sweep_threads.clear();
  o.sweep_simd = {"all"};
  o.simd_target = "";
  p = resolve(o);
  REQUIRE(logs_of(p) == std::vector<std::string>{"sweeps/a/plan-t2-AVX2.json", "sweeps/a/plan-t2-SSE4.json",
                                                 "sweeps/a/plan-t2-SCALAR.json"});
  // Repeats alone: the experiment's configuration N times.
  o = RunOptions{};
  o.sweep_repeats = 2;
  o.simd_target = "SSE4";
  p = resolve(o);
  REQUIRE(logs_of(p) == std::vector<std::string>{p.sweep_folder + "/plan-t2-SSE4-r1.json",
                                                 p.sweep_folder + "/plan-t2-SSE4-r2.json"});
}

TEST_CASE("plan paths: a resumed run continues its own log and checkpoint, or --out's", "[plan][paths][resume]") {
  const Checkpoint c = resumable();
  RunPlan p = resolve(RunOptions{}, &c);
  REQUIRE(p.runs.size() == 1);
  REQUIRE(p.runs.front().log == "/runs/plan.json");
  REQUIRE_FALSE(p.runs.front().log_is_default);
  REQUIRE(p.runs.front().checkpoint == "/ckpt/plan.ckpt");
  REQUIRE(p.runs.front().simd_target == "SSE4");  // the checkpoint's
  RunOptions o;
  o.out = "new.json";
  o.checkpoint = "new.ckpt";
  p = resolve(o, &c);
  REQUIRE(p.runs.front().log == "new.json");
  REQUIRE(p.runs.front().checkpoint == "new.ckpt");
}

}  // namespace test_run_plan
