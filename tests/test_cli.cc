// run_experiment end to end: exit statuses, messages, logs, weights, checkpoints and signals.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "mlpbench/float_mode.h"
#include "mlpbench/kernels.h"
#include "mlpbench/weights.h"
#include "test_support.h"

namespace test_cli {

namespace fs = std::filesystem;
using test_support::require_same_epoch_numbers;
using test_support::run;
using nlohmann::json;

namespace {

// A temporary folder with tiny MNIST-shaped data and a small experiment file.
struct Sandbox {
  std::string dir = test_support::temp_dir();
  std::string experiment = dir + "/exp.json";
  Sandbox(int epochs = 2) {
    test_support::write_tiny_mnist(dir + "/data", 530, 120);
    write_experiment(experiment, epochs);
  }
  static void write_experiment(const std::string& path, int epochs, double lr = 0.001,
                               const std::string& hidden = "relu") {
    test_support::SmallExperiment{"cli_test", epochs, "adam", lr, hidden, 3}.write(path);
  }
  std::string cmd(const std::string& args) const {
    return test_support::run_experiment_path() + " --quiet --data-dir " + dir + "/data " + args;
  }
};

json read_json(const std::string& path) { return test_support::parse_json(test_support::read_file(path)); }

// Starts `command` in the background and returns once its log holds `epochs` epochs (or after
// a minute). The log must be valid JSON every time it is looked at: it is written atomically.
pid_t start_until_epochs(const std::string& command, const std::string& log, size_t epochs) {
  const pid_t pid = fork();
  if (pid == 0) {
    execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (fs::exists(log) && read_json(log)["epochs"].size() >= epochs) break;
    } catch (const std::exception&) {
      FAIL("the log was not valid JSON while running");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return pid;
}

}  // namespace

TEST_CASE("run_experiment trains and writes a complete log", "[cli]") {
  Sandbox s;
  const std::string log = s.dir + "/out/log.json", weights = s.dir + "/w.safetensors";
  const auto r = run(s.cmd(s.experiment + " --out " + log + " --save-weights " + weights));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.find(log) != std::string::npos);
  const json j = read_json(log);
  REQUIRE(j["schema"] == "mlpbench.run/1");
  REQUIRE(j["status"] == "completed");
  for (const char* key : {"experiment", "build", "host", "run", "epochs", "summary"}) REQUIRE(j.contains(key));
  for (const char* key : {"version", "git_commit", "compiler", "build_type", "cxx_flags", "simd_targets_compiled", "openmp"}) {
    REQUIRE(j["build"].contains(key));
  }
  for (const char* key : {"cpu_model", "cpu_id", "caches", "logical_cpus", "simd_targets_supported"}) {
    REQUIRE(j["host"].contains(key));
  }
  // The engine's real compile line: the determinism promise rests on -ffp-contract=off.
  REQUIRE(j["build"]["cxx_flags"].get<std::string>().find("-ffp-contract=off") != std::string::npos);
  REQUIRE(j["host"]["cpu_id"].is_string());
  REQUIRE(j["host"]["caches"].is_object());
  for (const auto& [level, bytes] : j["host"]["caches"].items()) {
    INFO(level);
    CHECK((level == "L1d" || level == "L2" || level == "L3" || level == "L4"));
    CHECK(bytes.get<uint64_t>() >= 1024);
  }
  REQUIRE(j["run"]["threads"] == 2);
  // Who wrote it, for readers that tell a live run from a dead one.
  REQUIRE(j["writer"]["hostname"] == j["host"]["hostname"]);
  REQUIRE(j["writer"]["pid"].get<int64_t>() > 0);
  REQUIRE(j["writer"]["pid"].get<int64_t>() != ::getpid());
  REQUIRE(j["writer"]["boot_id"].get<std::string>().size() > 8);
  REQUIRE(j["writer"]["start_ticks"].is_number_unsigned());
  REQUIRE(j["writer"]["updated_utc"].is_string());
  REQUIRE(j["run"]["flush_denormals"].is_boolean());
  REQUIRE(j["run"]["flush_denormals"] == mlpbench::can_flush_denormals());
  REQUIRE(j["run"]["host_noisy"] == !j["run"]["host_noise_reasons"].empty());
  REQUIRE(j["run"]["train_samples"] == 530);
  REQUIRE(j["run"]["test_samples"] == 120);
  REQUIRE(j["epochs"].size() == 2);
  for (const char* key : {"epoch", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "train_seconds",
                          "eval_seconds", "samples_per_second", "gflops", "barrier_us"}) {
    REQUIRE(j["epochs"][1].contains(key));
  }
  if (j["build"]["openmp"] == true) {  // a team of two: its barrier was timed
    REQUIRE(j["epochs"][1]["barrier_us"].is_number());
    REQUIRE(j["epochs"][1]["barrier_us"].get<double>() > 0);
  } else {
    REQUIRE(j["epochs"][1]["barrier_us"].is_null());
  }
  // Each thread's phase times of the step: present, non-negative, within the epoch's train time.
  for (const auto& epoch : j["epochs"]) {
    REQUIRE(epoch["phases"]["steps"] == epoch["steps"]);
    REQUIRE(epoch["phases"]["threads"].size() == j["run"]["threads"].get<size_t>());
    for (const auto& thread : epoch["phases"]["threads"]) {
      double sum = 0;
      for (const char* key : {"layer0_forward_seconds", "upper_layers_or_gather_seconds",
                              "barrier_wait_seconds", "layer0_backward_update_seconds"}) {
        INFO(key);
        REQUIRE(thread[key].get<double>() >= 0);
        sum += thread[key].get<double>();
      }
      REQUIRE(thread.size() == 4);
      REQUIRE(sum <= epoch["train_seconds"].get<double>());
    }
  }
  for (const char* key : {"final_test_accuracy", "best_test_accuracy", "total_train_seconds", "mean_epoch_seconds", "wall_seconds"}) {
    REQUIRE(j["summary"].contains(key));
  }
  REQUIRE(j["summary"]["final_test_accuracy"] == j["epochs"][1]["test_accuracy"]);
  REQUIRE(j["experiment"]["optimizer"]["beta_2"] == 0.999);  // defaults resolved

  const auto file = mlpbench::read_safetensors(weights);
  REQUIRE(file.tensors.at("dense_0.kernel").shape == std::vector<size_t>{784, 24});
  REQUIRE(file.tensors.at("dense_1.bias").shape == std::vector<size_t>{10});
  REQUIRE(file.metadata.at("experiment") == "cli_test");
  REQUIRE(std::stod(file.metadata.at("final_test_accuracy")) ==
          Approx(j["summary"]["final_test_accuracy"].get<double>()).margin(1e-6));
  // No temporary files are left beside the log.
  for (const auto& entry : fs::directory_iterator(s.dir + "/out")) REQUIRE(entry.path().filename() == "log.json");
}

TEST_CASE("overrides and thread counts: 1, 2 and 3 threads log identical numbers", "[cli][determinism]") {
  Sandbox s;
  json first;
  for (int threads : {1, 2, 3}) {
    const std::string log = s.dir + "/t" + std::to_string(threads) + ".json";
    const auto r = run(s.cmd(s.experiment + " --epochs 1 --threads " + std::to_string(threads) + " --out " + log));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json j = read_json(log);
    REQUIRE(j["run"]["threads"] == threads);
    REQUIRE(j["experiment"]["epochs"] == 1);
    if (threads == 1) first = j;
    require_same_epoch_numbers(first, j);
  }
}

TEST_CASE("a thread sweep writes one log per count into one folder", "[cli]") {
  Sandbox s;
  const std::string folder = s.dir + "/sweep";
  const auto r = run(s.cmd(s.experiment + " --epochs 1 --sweep-threads 1,2 --out " + folder));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  size_t logs = 0;
  for (const auto& entry : fs::directory_iterator(folder)) logs += entry.path().extension() == ".json";
  REQUIRE(logs == 2);
}

TEST_CASE("a sweep prints the model summary once and ends with one summary table", "[cli]") {
  Sandbox s;
  const std::string folder = s.dir + "/sweep";
  const std::string loud = test_support::run_experiment_path() + " --data-dir " + s.dir + "/data ";
  const auto r = run(loud + s.experiment + " --epochs 1 --sweep-threads 1,2 --out " + folder);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto count = [&](const std::string& what) {
    size_t n = 0;
    for (size_t at = r.err.find(what); at != std::string::npos; at = r.err.find(what, at + 1)) ++n;
    return n;
  };
  REQUIRE(count("Model: \"cli_test\"") == 1);
  REQUIRE(count("s/epoch  speed-up  identical numbers") == 1);
  // Thread counts never change the numbers: both rows say so.
  REQUIRE(r.err.find("1 thread, ") != std::string::npos);
  REQUIRE(count("x  yes\n") == 2);
}

TEST_CASE("a SIMD sweep over all runs every supported target, and names unknown ones", "[cli]") {
  Sandbox s;
  auto r = run(test_support::run_experiment_path() + " --list-targets");
  REQUIRE(r.exit_code == 0);
  const auto at = r.out.find("supported:");
  REQUIRE(at != std::string::npos);
  const std::string line = r.out.substr(at, r.out.find('\n', at) - at);
  const size_t targets = static_cast<size_t>(std::count(line.begin(), line.end(), ',')) + 1;

  const std::string folder = s.dir + "/simd";
  r = run(s.cmd(s.experiment + " --epochs 1 --threads 1 --train-limit 64 --test-limit 32 "
                "--sweep-simd all --out " + folder));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  size_t logs = 0;
  for (const auto& entry : fs::directory_iterator(folder)) logs += entry.path().extension() == ".json";
  REQUIRE(logs == targets);

  r = run(s.cmd(s.experiment + " --sweep-simd NEON9 --out " + s.dir + "/none"));
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err.find("--sweep-simd: no compiled and supported target named \"NEON9\"") !=
          std::string::npos);
  REQUIRE_FALSE(fs::exists(s.dir + "/none"));
}

TEST_CASE("a dry run validates, describes and prints the resolved experiment", "[cli][dry-run]") {
  Sandbox s;
  auto r = run(test_support::run_experiment_path() + " --dry-run --epochs 7 " + s.experiment);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json resolved = test_support::parse_json(r.out);
  REQUIRE(resolved["epochs"] == 7);
  REQUIRE(resolved["optimizer"]["beta_2"] == 0.999);  // defaults filled in
  REQUIRE(resolved["model"][0] == json({{"units", 24}, {"activation", "relu"}}));
  REQUIRE(r.err.find("Total params: 19,090") != std::string::npos);  // 784*24+24 + 24*10+10

  const std::string tanh = s.dir + "/tanh.json";
  Sandbox::write_experiment(tanh, 1, 0.001, "tanh");
  r = run(test_support::run_experiment_path() + " --dry-run " + tanh);
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.out.empty());
  REQUIRE(r.err.find("/model/0/activation") != std::string::npos);

  // Integers are decimal whatever their leading zeros (CLI11 alone would read "010" as octal 8).
  r = run(test_support::run_experiment_path() + " --dry-run --epochs 010 --batch-size 08 " + s.experiment);
  REQUIRE(r.exit_code == 0);
  REQUIRE(test_support::parse_json(r.out)["epochs"] == 10);
  REQUIRE(test_support::parse_json(r.out)["batch_size"] == 8);

  // What the run refuses before reading data, the dry run refuses too.
  for (const std::string args : {"--simd-target NEON9", "--sweep-simd NEON9", "--sweep-batch-size 2 --shards 4"}) {
    r = run(test_support::run_experiment_path() + " --dry-run " + args + " " + s.experiment);
    INFO(args << "\n" << r.err);
    REQUIRE(r.exit_code == 2);
    REQUIRE(r.out.empty());
  }
}

TEST_CASE("the reference figure is quoted only for a run that matches it", "[cli]") {
  Sandbox s;
  json e = read_json(s.experiment);
  e["reference"] = {{"test_accuracy", 0.5}, {"source", "a notebook"}};
  test_support::write_file(s.experiment, test_support::dump_json(e));
  const std::string loud = test_support::run_experiment_path() + " --data-dir " + s.dir + "/data ";
  auto r = run(loud + s.experiment + " --out " + s.dir + "/full.json");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.err.find("(reference 50.00%: a notebook)") != std::string::npos);
  r = run(loud + s.experiment + " --epochs 1 --out " + s.dir + "/short.json");
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.err.find("Final test accuracy") != std::string::npos);
  REQUIRE(r.err.find("reference") == std::string::npos);
}

TEST_CASE("bad command lines and experiment files exit 2 with a clear message", "[cli][errors]") {
  Sandbox s;
  struct Case {
    std::string args, message;
  };
  const std::string bad = s.dir + "/bad.json";
  test_support::write_file(bad, "{\"name\": \"x\", \"epochs\": ");
  const std::string typo = s.dir + "/typo.json";
  json t = read_json(s.experiment);
  t["optimizer"]["learning_rate"] = "fast";
  test_support::write_file(typo, test_support::dump_json(t));
  const std::string classes = s.dir + "/classes.json";
  t = read_json(s.experiment);
  t["model"][1]["units"] = 12;
  test_support::write_file(classes, test_support::dump_json(t));
  const std::vector<Case> cases = {
      {"--no-such-option " + s.experiment, "no-such-option"},
      {"", "experiment"},
      {s.experiment + " --threads -1", "--threads"},
      {s.experiment + " --epochs 0", "--epochs"},
      {s.experiment + " --simd-target NEON9", "NEON9"},
      {s.dir + "/missing.json", "missing.json"},
      {bad, "bad.json"},
      {typo, "/optimizer/learning_rate"},
      {classes, "/model/1/units"},
      {s.experiment + " --sweep-threads 1,x", "--sweep-threads"},
      {s.experiment + " --batch-size-per-rank 8", "--batch-size-per-rank: only with --distributed"},
      {s.experiment + " --distributed --batch-size-per-rank 8 --batch-size 16", "not both"},
      {s.experiment + " --batch-size-per-rank 0", "--batch-size-per-rank"},
      {s.experiment + " --warmup-epochs 1", "--warmup-epochs: needs --lr-scaling linear or sqrt"},
      {s.experiment + " --warmup-epochs 0 --lr-scaling linear", "--warmup-epochs"},
      {s.experiment + " --lr-scaling sqrt --warmup-epochs 3", "3 epochs of warmup in a run of 2"},
      // An empty value is not "not given": each would otherwise fall back to a default silently.
      {s.experiment + " --out ''", "--out: an empty value"},
      {s.experiment + " --save-weights ''", "--save-weights: an empty value"},
      {s.experiment + " --checkpoint ''", "--checkpoint: an empty value"},
      {s.experiment + " --simd-target ''", "--simd-target: an empty value"},
      {s.experiment + " --quiet", "--quiet: given more than once"},  // cmd() gives it once
      // A sweep's batch sizes are checked as single runs at those sizes would be.
      {s.experiment + " --sweep-batch-size 2,8 --shards 4", "--sweep-batch-size 2: "},
  };
  for (const auto& c : cases) {
    const auto r = run(s.cmd(c.args));
    INFO(c.args << "\n" << r.err);
    REQUIRE(r.exit_code == 2);
    REQUIRE(r.err.find(c.message) != std::string::npos);
    REQUIRE(r.err.find("terminate") == std::string::npos);
  }
}

TEST_CASE("an existing log is kept unless --force", "[cli][errors]") {
  Sandbox s;
  const std::string log = s.dir + "/log.json";
  test_support::write_file(log, "precious");
  auto r = run(s.cmd(s.experiment + " --epochs 1 --out " + log));
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err.find("--force") != std::string::npos);
  REQUIRE(test_support::read_file(log) == "precious");
  r = run(s.cmd(s.experiment + " --epochs 1 --force --out " + log));
  REQUIRE(r.exit_code == 0);
  REQUIRE(read_json(log)["status"] == "completed");
}

TEST_CASE("missing or corrupt data exits 3 and writes no log", "[cli][errors]") {
  Sandbox s;
  const std::string log = s.dir + "/log.json";
  auto r = run(test_support::run_experiment_path() + " --quiet --data-dir " + s.dir + "/nowhere " + s.experiment +
               " --out " + log);
  REQUIRE(r.exit_code == 3);
  REQUIRE(r.err.find("nowhere") != std::string::npos);
  REQUIRE_FALSE(fs::exists(log));

  const std::string images = s.dir + "/data/mnist/train-images-idx3-ubyte";
  fs::resize_file(images, fs::file_size(images) - 100);
  r = run(s.cmd(s.experiment + " --out " + log));
  REQUIRE(r.exit_code == 3);
  REQUIRE(r.err.find("train-images-idx3-ubyte") != std::string::npos);
  REQUIRE_FALSE(fs::exists(log));
}

TEST_CASE("a diverging run exits 4 with a diverged log", "[cli][errors]") {
  Sandbox s;
  const std::string exp = s.dir + "/diverge.json", log = s.dir + "/log.json";
  json e = read_json(s.experiment);
  e["model"][0]["activation"] = "linear";
  e["optimizer"] = {{"name", "sgd"}, {"learning_rate", 10}};
  e["epochs"] = 50;
  test_support::write_file(exp, test_support::dump_json(e));
  const auto r = run(s.cmd(exp + " --out " + log));
  INFO(r.err);
  REQUIRE(r.exit_code == 4);
  REQUIRE(r.err.find("diverged at epoch") != std::string::npos);
  REQUIRE(read_json(log)["status"] == "diverged");
}

TEST_CASE("run_experiment --list-targets, --help and --version exit 0", "[cli]") {
  auto r = run(test_support::run_experiment_path() + " --list-targets");
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.find("supported:") != std::string::npos);
  REQUIRE(run(test_support::run_experiment_path() + " --help").exit_code == 0);
  r = run(test_support::run_experiment_path() + " --version");
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out.find("run_experiment") != std::string::npos);
}

TEST_CASE("SIGINT writes a checkpoint and --resume ends with an uninterrupted run's numbers", "[cli][resume]") {
  // The interrupted run is too long to finish before the signal on any machine; its resumption
  // is cut to a few epochs past where it stopped (the numbers of an epoch do not depend on how
  // many follow), and compared with an uninterrupted run of that length.
  Sandbox s(100000);
  const std::string full = s.dir + "/full.json", part = s.dir + "/part.json", ckpt = s.dir + "/run.ckpt";
  const pid_t pid = start_until_epochs(
      s.cmd(s.experiment + " --out " + part + " --checkpoint " + ckpt) + " >/dev/null 2>" + s.dir + "/err", part, 1);
  kill(pid, SIGINT);
  int status = 0;
  waitpid(pid, &status, 0);
  INFO(test_support::read_file(s.dir + "/err"));
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 130);
  REQUIRE(read_json(part)["status"] == "interrupted");
  REQUIRE(fs::exists(ckpt));

  const std::string epochs = std::to_string(read_json(part)["epochs"].size() + 2);
  const auto r = run(test_support::run_experiment_path() + " --quiet --data-dir " + s.dir + "/data --resume " + ckpt +
                     " --epochs " + epochs);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json resumed = read_json(part);
  REQUIRE(resumed["status"] == "completed");
  REQUIRE(run(s.cmd(s.experiment + " --epochs " + epochs + " --out " + full)).exit_code == 0);
  require_same_epoch_numbers(read_json(full), resumed);
}

TEST_CASE("SIGKILL leaves a valid log of the finished epochs", "[cli][resume]") {
  Sandbox s(100000);  // never finishes before the kill, however fast the machine or slow the polling
  const std::string log = s.dir + "/log.json";
  const pid_t pid = start_until_epochs(s.cmd(s.experiment + " --out " + log) + " >/dev/null", log, 2);
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  const json j = read_json(log);
  REQUIRE(j["status"] == "running");
  REQUIRE(j["epochs"].size() >= 2);
  for (size_t i = 0; i < j["epochs"].size(); ++i) REQUIRE(j["epochs"][i]["epoch"] == i + 1);
}

TEST_CASE("run_experiment --checkpoint-every saves a checkpoint a resumed run can finish from", "[cli][resume]") {
  Sandbox s(4);
  const std::string full = s.dir + "/full.json", log = s.dir + "/log.json", ckpt = s.dir + "/every.ckpt";
  REQUIRE(run(s.cmd(s.experiment + " --out " + full)).exit_code == 0);
  REQUIRE(run(s.cmd(s.experiment + " --out " + log + " --checkpoint " + ckpt + " --checkpoint-every 2")).exit_code == 0);
  REQUIRE(fs::exists(ckpt));  // written after epoch 2
  const std::string resumed = s.dir + "/resumed.json";
  const auto r = run(test_support::run_experiment_path() + " --quiet --data-dir " + s.dir + "/data --resume " + ckpt +
                     " --out " + resumed);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  require_same_epoch_numbers(read_json(full), read_json(resumed));
}

TEST_CASE("run_experiment --warmup-epochs ramps from the experiment's rate to the scaled one, and a resumed run "
          "keeps ramping", "[cli][resume][lr]") {
  Sandbox s(4);  // batch 32, rate 0.001, 530 samples
  const std::string args = s.experiment + " --batch-size 128 --lr-scaling linear --warmup-epochs 3";
  const std::string full = s.dir + "/full.json", log = s.dir + "/log.json", ckpt = s.dir + "/w.ckpt";
  REQUIRE(run(s.cmd(args + " --out " + full)).exit_code == 0);
  const json j = read_json(full);
  const json& l = j["run"]["lr_scaling"];
  CHECK(l["rule"] == "linear");
  CHECK(l["learning_rate"] == 0.004);
  CHECK(l["warmup_epochs"] == 3);
  CHECK(l["warmup_steps"] == 15);  // 3 epochs of ceil(530 / 128) steps
  CHECK(j["epochs"][0]["learning_rate"] == 0.001);  // update 1: unscaled
  CHECK(j["epochs"][2]["learning_rate_end"].get<double>() == Approx(0.001 + 0.003 * 14 / 15).epsilon(1e-14));
  CHECK(j["epochs"][3]["learning_rate"] == 0.004);  // update 16: scaled
  CHECK(j["epochs"][3]["learning_rate_end"] == 0.004);
  // The warmup is the checkpoint's: a run resumed mid-warmup continues the ramp (no options).
  REQUIRE(run(s.cmd(args + " --out " + log + " --checkpoint " + ckpt + " --checkpoint-every 2")).exit_code == 0);
  const std::string resumed = s.dir + "/resumed.json";
  const std::string resume = test_support::run_experiment_path() + " --quiet --data-dir " + s.dir + "/data --resume " + ckpt;
  const auto refused = run(resume + " --warmup-epochs 1 --out " + resumed);
  CHECK(refused.exit_code == 2);
  CHECK(refused.err.find("the batch size and the warmup come from the checkpoint") != std::string::npos);
  const auto r = run(resume + " --out " + resumed);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  require_same_epoch_numbers(j, read_json(resumed));
  CHECK(read_json(resumed)["run"]["lr_scaling"]["warmup_steps"] == 15);
}

TEST_CASE("real MNIST: a short run learns well above chance", "[cli][mnist]") {
  const std::string data = test_support::real_data_dir();
  if (data.empty()) {
    WARN("real MNIST is not in data/: run tools/fetch_data.sh; skipped");
    return;
  }
  const std::string dir = test_support::temp_dir(), log = dir + "/log.json";
  const auto r = run(test_support::run_experiment_path() + " --quiet --data-dir " + data + " " +
                     test_support::source_dir() + "/experiments/mlp512_5ep.json --epochs 1 --train-limit 6000 "
                     "--test-limit 2000 --out " + log);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = read_json(log);
  REQUIRE(j["run"]["train_samples"] == 6000);
  REQUIRE(j["epochs"][0]["test_accuracy"].get<double>() > 0.85);
}

TEST_CASE("a sweep with --sweep-repeats runs every configuration N times round by round, and groups "
          "the targets by the numbers they compute", "[cli]") {
  // One target that fuses multiply-add and one that does not, where the machine has both.
  std::string fused, unfused;
  for (const std::string& t : mlpbench::kernels::supported_targets()) {
    REQUIRE(mlpbench::kernels::select_simd_target(t));
    std::string& slot = mlpbench::kernels::active_target_fuses_multiply_add() ? fused : unfused;
    if (slot.empty()) slot = t;
  }
  mlpbench::kernels::select_simd_target("");
  const std::string targets = fused.empty() ? unfused : unfused.empty() ? fused : fused + "," + unfused;
  if (fused.empty() || unfused.empty()) WARN("this machine has one target kind only: " << targets);

  Sandbox s;
  const std::string folder = s.dir + "/repeats";
  const std::string loud = test_support::run_experiment_path() + " --data-dir " + s.dir + "/data ";
  const auto r = run(loud + s.experiment + " --epochs 1 --train-limit 96 --test-limit 32 --sweep-threads 1,2 "
                     "--sweep-simd " + targets + " --sweep-repeats 2 --out " + folder);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const size_t kinds = fused.empty() || unfused.empty() ? 1 : 2;
  std::vector<std::string> logs;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() == ".json") logs.push_back(entry.path().filename().string());
  }
  REQUIRE(logs.size() == 2 * 2 * kinds);
  std::string last_of_round1, first_of_round2 = "~";  // UTC stamps sort as text
  for (const std::string& name : logs) {
    const json log = read_json(folder + "/" + name);
    const int round = log["run"]["sweep_round"].get<int>();
    CHECK(name.ends_with("-r" + std::to_string(round) + ".json"));
    const std::string started = log["run"]["started_utc"].get<std::string>();
    if (round == 1) last_of_round1 = std::max(last_of_round1, started);
    if (round == 2) first_of_round2 = std::min(first_of_round2, started);
  }
  // Round by round: every configuration's first run before any second one.
  CHECK(last_of_round1 <= first_of_round2);
  // One line per configuration with its two runs, each identical to its target's first run.
  CHECK(r.err.find("runs  s/epoch  fastest-slowest  speed-up  identical numbers") != std::string::npos);
  size_t lines = 0;
  for (size_t at = r.err.find("     2  "); at != std::string::npos; at = r.err.find("     2  ", at + 1)) ++lines;
  CHECK(lines == 2 * kinds);
  size_t yes = 0;
  for (size_t at = r.err.find("x  yes\n"); at != std::string::npos; at = r.err.find("x  yes\n", at + 1)) ++yes;
  CHECK(yes == 2 * kinds);
  // A multiply-add rounded once or twice: the two targets compute different numbers, said so.
  if (kinds == 2) {
    CHECK(r.err.find("Numbers by target: " + fused + "; " + unfused + " (targets differ by design") !=
          std::string::npos);
  }
}

TEST_CASE("a sweep's --sweep-repeats takes 1 to 100 and is a sweep for the option table", "[cli]") {
  Sandbox s;
  for (const std::string bad : {"0", "101", "-1", "two", "1.5"}) {
    const auto r = run(s.cmd(s.experiment + " --sweep-repeats " + bad + " --out " + s.dir + "/x"));
    INFO(bad << ": " << r.err);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("--sweep-repeats") != std::string::npos);
  }
  const auto r = run(s.cmd(s.experiment + " --distributed --sweep-repeats 2"));
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--distributed: not with a sweep (--sweep-repeats)") != std::string::npos);
}

}  // namespace test_cli
