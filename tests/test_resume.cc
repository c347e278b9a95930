// A resumed run is the run it continues: the checkpoint's run.identity against the command
// line, the data and the machine; and one writer per run across resumes (run_lock.h).
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include <nlohmann/json.hpp>

#include "mlpbench/checkpoint.h"
#include "mlpbench/weights.h"
#include "test_support.h"

namespace test_resume {

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::read_file;
using test_support::run;

namespace {

json read_json(const std::string& path) { return test_support::parse_json(read_file(path)); }

// Tiny data, a 3-epoch experiment, and a run of it interrupted after step 5 (its checkpoint
// and its "interrupted" log), trained on 400 of the 530 samples and tested on 100 of the 120.
struct Interrupted {
  std::string dir = test_support::temp_dir();
  std::string data = dir + "/data", experiment = dir + "/exp.json";
  std::string log = dir + "/run.json", checkpoint = dir + "/run.ckpt";
  explicit Interrupted(const std::string& extra = "") {
    test_support::write_tiny_mnist(data, 530, 120);
    test_support::SmallExperiment{"resume_test", 3, "adam", 0.001, "relu", 3}.write(experiment);
    const auto r = run("MLPBENCH_FAULT_SIGNAL=INT@5 " + cmd(experiment + " --train-limit 400 --test-limit 100 --out " +
                                                            log + " --checkpoint " + checkpoint + " " + extra));
    INFO(r.err);
    REQUIRE(r.exit_code == 130);
  }
  std::string cmd(const std::string& args, const std::string& data_dir = "") const {
    return "timeout 120 " + engine(args, data_dir);
  }
  std::string engine(const std::string& args, const std::string& data_dir = "") const {
    return test_support::run_experiment_path() + " --quiet --data-dir " + (data_dir.empty() ? data : data_dir) + " " + args;
  }
};

void require_refused(const test_support::CommandResult& r, const std::string& message) {
  INFO(r.err);
  REQUIRE(r.exit_code == 2);
  REQUIRE(r.err.find(message) != std::string::npos);
}

// A copy of `from` with its run's metadata edited by `edit` (checksums made valid again).
void rewrite_checkpoint(const std::string& from, const std::string& to, const std::function<void(json&)>& edit) {
  const mlpbench::SafetensorsFile file = mlpbench::read_safetensors(from);
  json meta = test_support::parse_json(file.metadata.at("mlpbench.checkpoint"));
  edit(meta);
  std::vector<mlpbench::TensorView> tensors;
  for (const auto& [name, t] : file.tensors) tensors.push_back(t);
  test_support::write_file(to, mlpbench::encode_checkpoint(meta, tensors));
}

// A child process (`sh -c "exec COMMAND"`: the command has the child's pid), killed and reaped
// when this object goes, whatever happened in between, and by SIGALRM after two minutes even if
// this process dies first (an alarm survives exec).
struct Child {
  pid_t pid = -1;
  explicit Child(const std::string& command) {
    pid = fork();
    if (pid == 0) {
      alarm(120);
      execl("/bin/sh", "sh", "-c", ("exec " + command).c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  bool alive() const {
    siginfo_t info{};
    return waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
  }
  ~Child() {
    if (pid <= 0) return;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
};

// Waits (at most a minute) until `done()`, while the child lives.
template <class Done>
bool wait_until(const Done& done, const Child& child) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline && child.alive()) {
    try {
      if (done()) return true;
    } catch (const std::exception&) {
      // a file being created: look again
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return false;
}

// The child holds the lock file at `path`: it wrote its pid there once it held it.
bool holds_lock(const std::string& path, const Child& child) {
  const std::string content = "mlpbench run lock, process " + std::to_string(child.pid) + "\n";
  return wait_until([&] { return fs::exists(path) && read_file(path) == content; }, child);
}

}  // namespace

TEST_CASE("resume: the checkpoint records the run's identity", "[cli][resume][identity]") {
  Interrupted s;
  const auto c = mlpbench::read_checkpoint(s.checkpoint);
  REQUIRE(c.run_info.identity);
  const json& id = *c.run_info.identity;
  for (const char* key : {"train_images", "train_labels", "test_images", "test_labels"}) {
    REQUIRE(id.at("data_crc32").at(key).is_number_unsigned());
  }
  REQUIRE(id.at("simd_target").is_string());
  REQUIRE(id.at("flush_denormals").is_boolean());
  REQUIRE(id.at("reduction") == "tree");
  REQUIRE(c.run_info.train_limit == 400);
  REQUIRE(c.run_info.test_limit == 100);
}

TEST_CASE("resume: another limit, seed, batch size, shards or SIMD target is refused naming it", "[cli][resume][identity]") {
  Interrupted s;
  const std::string before = read_file(s.log);
  const std::string resume = "--resume " + s.checkpoint + " ";
  require_refused(run(s.cmd(resume + "--test-limit 50")), "--test-limit: the checkpoint's run used 100, this command line says 50");
  require_refused(run(s.cmd(resume + "--test-limit 0")), "--test-limit: the checkpoint's run used 100, this command line says 0");
  require_refused(run(s.cmd(resume + "--train-limit 530")), "--train-limit: the checkpoint's run used 400, this command line says 530");
  require_refused(run(s.cmd(resume + "--seed 4")), "--seed: the checkpoint's run used 3, this command line says 4");
  require_refused(run(s.cmd(resume + "--batch-size 64")), "--batch-size: the checkpoint's run used 32, this command line says 64");
  require_refused(run(s.cmd(resume + "--shards 2")), "--shards: the checkpoint's run used 1, this command line says 2");
  require_refused(run(s.cmd(resume + "--simd-target NOT_A_TARGET")), "--simd-target: the checkpoint's run used ");
  require_refused(run(s.cmd(resume + "--lr-scaling linear")), "--lr-scaling: not with --resume");
  // Nothing was touched: the log is the interrupted run's, byte for byte.
  REQUIRE(read_file(s.log) == before);

  // The same values given explicitly are the same run: it completes as an uninterrupted one.
  const std::string full = s.dir + "/full.json";
  REQUIRE(run(s.cmd(s.experiment + " --train-limit 400 --test-limit 100 --out " + full)).exit_code == 0);
  const auto r = run(s.cmd(resume + "--test-limit 100 --train-limit 400 --seed 3 --batch-size 32 --shards 1"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  test_support::require_same_epoch_numbers(read_json(full), read_json(s.log));
}

TEST_CASE("resume: other images under MNIST's names are refused naming the file", "[cli][resume][identity]") {
  Interrupted s;
  const std::string before = read_file(s.log);
  // Another data folder: the same files but one, whose test images differ in one pixel.
  const std::string other = s.dir + "/other";
  fs::copy(s.data, other, fs::copy_options::recursive);
  const std::string images = other + "/mnist/t10k-images-idx3-ubyte";
  std::string bytes = read_file(images);
  bytes[16 + 5] = static_cast<char>(bytes[16 + 5] ^ 0x40);  // past the 16-byte header, sample 0
  test_support::write_file(images, bytes);
  require_refused(run(s.cmd("--resume " + s.checkpoint, other)), "--data-dir: " + images + ": not the samples");
  REQUIRE(read_file(s.log) == before);

  // Other training labels: refused too.
  fs::remove_all(other);
  fs::copy(s.data, other, fs::copy_options::recursive);
  std::string labels = read_file(other + "/mnist/train-labels-idx1-ubyte");
  labels[8] = static_cast<char>((labels[8] + 1) % 10);
  test_support::write_file(other + "/mnist/train-labels-idx1-ubyte", labels);
  require_refused(run(s.cmd("--resume " + s.checkpoint, other)), "--data-dir: " + other + "/mnist/train-labels-idx1-ubyte");

  // The same data moved elsewhere is the same run.
  const std::string moved = s.dir + "/moved";
  fs::copy(s.data, moved, fs::copy_options::recursive);
  const auto r = run(s.cmd("--resume " + s.checkpoint, moved));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(read_json(s.log)["status"] == "completed");
}

TEST_CASE("resume: a checkpoint without run.identity, or with a tampered one, is refused", "[cli][resume][identity]") {
  Interrupted s;
  const std::string old = s.dir + "/old.ckpt";
  rewrite_checkpoint(s.checkpoint, old, [](json& meta) { meta["run"].erase("identity"); });
  require_refused(run(s.cmd("--resume " + old + " --out " + s.dir + "/x.json")), old + ": the checkpoint records no run/identity");
  require_refused(run(s.cmd("--dry-run --resume " + old)), "records no run/identity");

  const std::string other = s.dir + "/other.ckpt";
  rewrite_checkpoint(s.checkpoint, other, [](json& meta) {
    meta["run"]["identity"]["data_crc32"]["train_images"] = meta["run"]["identity"]["data_crc32"]["train_images"].get<uint64_t>() ^ 1;
  });
  require_refused(run(s.cmd("--resume " + other + " --out " + s.dir + "/y.json")), "train-images-idx3-ubyte: not the samples");

  const std::string mpi = s.dir + "/mpi.ckpt";
  rewrite_checkpoint(s.checkpoint, mpi, [](json& meta) {
    meta["run"]["identity"]["reduction"] = "mpi";
    meta["run"]["identity"]["ranks"] = 2;
  });
  require_refused(run(s.cmd("--resume " + mpi + " --out " + s.dir + "/z.json")),
                  "--reduction: the checkpoint's run combined gradients by mpi over 2 ranks, this run by tree");

  for (const auto& [field, value] : {std::pair<const char*, json>{"reduction", "ring"}, {"flush_denormals", 1}, {"simd_target", 7}}) {
    rewrite_checkpoint(s.checkpoint, other, [&, f = field, v = value](json& meta) { meta["run"]["identity"][f] = v; });
    require_refused(run(s.cmd("--resume " + other + " --out " + s.dir + "/w.json")),
                    "not a usable checkpoint: run/identity/" + std::string(field));
  }
  REQUIRE_FALSE(fs::exists(s.dir + "/x.json"));
}

TEST_CASE("resume: the committed fuzz seeds (no run.identity) parse, and are refused on resume", "[resume][identity]") {
  for (const auto& entry : fs::directory_iterator(test_support::source_dir() + "/fuzz/corpus/checkpoint")) {
    if (entry.path().extension() != ".ckpt") continue;
    INFO(entry.path());
    const auto c = mlpbench::read_checkpoint(entry.path().string());
    REQUIRE_FALSE(c.run_info.identity);
    const auto r = run("timeout 60 " + test_support::run_experiment_path() + " --dry-run --resume " + entry.path().string());
    require_refused(r, "records no run/identity");
  }
}

TEST_CASE("resume: a second process resuming a live run's checkpoint is refused", "[cli][resume][lock]") {
  Interrupted s;
  const std::string lock = s.checkpoint + ".lock";
  // The first resume runs long (many epochs of tiny data); once it holds the lock it is stopped,
  // so it takes no CPU while the second one is tried.
  Child first(s.engine("--resume " + s.checkpoint + " --epochs 100000") + " >/dev/null 2>&1");
  REQUIRE(holds_lock(lock, first));
  REQUIRE(wait_until([&] { return read_json(s.log).value("run", json::object()).contains("resumed_from"); }, first));
  REQUIRE(kill(first.pid, SIGSTOP) == 0);

  const std::string message = "process " + std::to_string(first.pid) + " is writing this run";
  require_refused(run(s.cmd("--resume " + s.checkpoint)), message);
  require_refused(run(s.cmd("--resume " + s.checkpoint + " --epochs 100000")), message);
  // Elsewhere its log and checkpoint, but the same checkpoint resumed: refused.
  require_refused(run(s.cmd("--resume " + s.checkpoint + " --out " + s.dir + "/2.json --checkpoint " + s.dir + "/2.ckpt")),
                  message);
  // A copy of the checkpoint continues the same log: refused.
  const std::string copy = s.dir + "/copy.ckpt";
  fs::copy_file(s.checkpoint, copy);
  require_refused(run(s.cmd("--resume " + copy)), message);
  // A fresh run may not take the live run's log with --force.
  require_refused(run(s.cmd(s.experiment + " --force --out " + s.log + " --checkpoint " + s.dir + "/3.ckpt")), message);
  REQUIRE_FALSE(fs::exists(s.dir + "/2.json"));
  REQUIRE(read_json(s.log)["run"]["resumed_from"] == s.checkpoint);

  // Once the first is gone (SIGKILL: its lock file stays, unlocked), the run resumes and its
  // lock file goes with it.
  kill(first.pid, SIGKILL);
  waitpid(first.pid, nullptr, 0);
  first.pid = -1;
  REQUIRE(fs::exists(lock));
  const auto r = run(s.cmd("--resume " + s.checkpoint));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(read_json(s.log)["status"] == "completed");
  REQUIRE_FALSE(fs::exists(lock));
  REQUIRE_FALSE(fs::exists(s.log + ".lock"));
}

TEST_CASE("resume: a checkpoint of a run still training is not resumed beside it", "[cli][resume][lock]") {
  const std::string dir = test_support::temp_dir();
  test_support::write_tiny_mnist(dir + "/data", 530, 120);
  test_support::SmallExperiment{"live", 3, "adam", 0.001, "relu", 3}.write(dir + "/exp.json");
  const std::string log = dir + "/live.json", ckpt = dir + "/live.ckpt";
  const std::string engine = test_support::run_experiment_path() + " --quiet --data-dir " + dir + "/data ";
  Child live(engine + dir + "/exp.json --epochs 100000 --checkpoint-every 1 --out " + log + " --checkpoint " + ckpt +
             " >/dev/null 2>&1");
  REQUIRE(holds_lock(ckpt + ".lock", live));
  REQUIRE(wait_until([&] { return fs::exists(ckpt); }, live));  // written after epoch 1
  REQUIRE(kill(live.pid, SIGSTOP) == 0);
  require_refused(run("timeout 120 " + engine + "--resume " + ckpt), "process " + std::to_string(live.pid) + " is writing this run");
  require_refused(run("timeout 120 " + engine + "--resume " + ckpt + " --out " + dir + "/other.json"), "is writing this run");
  REQUIRE_FALSE(fs::exists(dir + "/other.json"));
}

TEST_CASE("resume: a symlink planted as a lock file is never followed", "[cli][resume][lock]") {
  Interrupted s;
  const std::string victim = s.dir + "/victim";
  test_support::write_file(victim, "precious");
  fs::create_symlink(victim, s.checkpoint + ".lock");
  const auto r = run(s.cmd("--resume " + s.checkpoint));
  require_refused(r, s.checkpoint + ".lock");
  REQUIRE(read_file(victim) == "precious");
}

TEST_CASE("resume: a run whose log folder was removed resumes into a new one, leaving no lock files", "[cli][resume][lock]") {
  Interrupted s;
  const std::string logs = s.dir + "/logs", log = logs + "/run.json", ckpt = s.dir + "/again.ckpt";
  const auto first = run("MLPBENCH_FAULT_SIGNAL=INT@5 " + s.cmd(s.experiment + " --out " + log + " --checkpoint " + ckpt));
  REQUIRE(first.exit_code == 130);
  fs::remove_all(logs);
  const auto r = run(s.cmd("--resume " + ckpt));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(read_json(log)["status"] == "completed");
  for (const auto& entry : fs::directory_iterator(logs)) REQUIRE(entry.path().filename() == "run.json");
  REQUIRE_FALSE(fs::exists(ckpt + ".lock"));
}

TEST_CASE("locks: a file at a lock's path that is not a lock is neither used nor removed", "[cli][lock]") {
  const std::string dir = test_support::temp_dir();
  test_support::write_tiny_mnist(dir + "/data", 530, 120);
  const std::string engine = test_support::run_experiment_path() + " --quiet --data-dir " + dir + "/data ";
  // The experiment itself where the log's lock would go: it must survive the run.
  const std::string experiment = dir + "/run.json.lock";
  test_support::SmallExperiment{"locks", 1, "adam", 0.001, "relu", 3}.write(experiment);
  const std::string text = read_file(experiment);
  require_refused(run(engine + experiment + " --out " + dir + "/run.json"), "is an input of this run");
  REQUIRE(read_file(experiment) == text);

  // Someone's file where a log's or a checkpoint's lock would go.
  for (const std::string& file : {dir + "/other.json.lock", dir + "/other.ckpt.lock"}) {
    test_support::write_file(file, "precious");
    require_refused(run(engine + experiment + " --out " + dir + "/other.json"), "is not a run's lock file");
    REQUIRE(read_file(file) == "precious");
    fs::remove(file);
  }
  REQUIRE_FALSE(fs::exists(dir + "/other.json"));

  // An output at another output's lock path, even with --force.
  require_refused(run(engine + experiment + " --force --out " + dir + "/a.ckpt.lock --checkpoint " + dir + "/a.ckpt"),
                  "would be the --out file");
  require_refused(run(engine + experiment + " --force --out " + dir + "/b.json --save-weights " + dir + "/b.json.lock"),
                  "would be the --save-weights file");
  for (const char* left : {"a.ckpt.lock", "a.ckpt", "b.json", "b.json.lock"}) REQUIRE_FALSE(fs::exists(dir + "/" + left));

  // A stale lock (its run was killed), in this version's form or an older one's: taken over, and
  // removed at the end.
  for (const std::string content : {"mlpbench run lock, process 999999\n", "999999", ""}) {
    const std::string log = dir + "/stale.json";
    test_support::write_file(log + ".lock", content);
    const auto r = run(engine + experiment + " --force --out " + log);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    REQUIRE_FALSE(fs::exists(log + ".lock"));
  }
}

TEST_CASE("outputs: a symbolic link to nothing at an output path is refused before training", "[cli][lock]") {
  const std::string dir = test_support::temp_dir();
  test_support::write_tiny_mnist(dir + "/data", 530, 120);
  const std::string engine = test_support::run_experiment_path() + " --quiet --data-dir " + dir + "/data ";
  test_support::SmallExperiment{"links", 1, "adam", 0.001, "relu", 3}.write(dir + "/exp.json");
  for (const std::string option : {"--out", "--checkpoint", "--save-weights"}) {
    const std::string link = dir + "/link" + option;
    fs::create_symlink(dir + "/nowhere", link);
    const std::string log = option == "--out" ? link : dir + "/log" + option + ".json";
    require_refused(run(engine + dir + "/exp.json " + option + " " + link + (option == "--out" ? "" : " --out " + log)),
                    "a symbolic link to a missing file");
    REQUIRE_FALSE(fs::exists(dir + "/log" + option + ".json"));
    REQUIRE_FALSE(fs::exists(dir + "/nowhere"));
  }
}

TEST_CASE("resume: a log replaced by a folder is named as such", "[cli][resume]") {
  Interrupted s;
  fs::remove(s.log);
  fs::create_directory(s.log);
  require_refused(run(s.cmd("--resume " + s.checkpoint)), "is a folder now; pass --out NEW_LOG");
  require_refused(run(s.cmd("--resume " + s.checkpoint + " --force")), "is a folder now");
}

}  // namespace test_resume
