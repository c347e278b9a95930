// Fault injection: run_experiment under hostile inputs, signals and outputs (docs/reliability.md).
// Every case checks the contract: a clear message naming the file or field, the documented
// exit status, no crash, no hang, no file lost or half-written. Random cases print their seed.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <random>
#include <thread>

#include <nlohmann/json.hpp>

#include "mlpbench/checkpoint.h"
#include "mlpbench/output_paths.h"
#include "mlpbench/run_log.h"
#include "mlpbench/weights.h"
#include "test_support.h"

namespace test_faults {

namespace fs = std::filesystem;
using nlohmann::json;
using test_support::require_same_epoch_numbers;
using test_support::run;

namespace {

constexpr size_t kTrain = 530, kTest = 120;  // batch 32: 17 steps, the last one of 18 rows
constexpr size_t kSteps = 17;

json read_json(const std::string& path) { return test_support::parse_json(test_support::read_file(path)); }

// Waits until `path` exists while child `pid` runs (at most a minute; the child is not reaped):
// false if the child ended without it or the minute passed (the child is then killed).
bool wait_for_file(const std::string& path, pid_t pid) {
  for (int ms = 0; ms < 60000; ++ms) {
    if (fs::exists(path)) return true;
    siginfo_t info{};
    if (waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
      return fs::exists(path);
    }
    usleep(1000);
  }
  kill(pid, SIGKILL);
  return false;
}

// A temporary folder with tiny MNIST-shaped data and a small 3-epoch experiment.
struct Sandbox {
  std::string dir = test_support::temp_dir();
  std::string data = dir + "/data";
  std::string experiment = dir + "/exp.json";
  explicit Sandbox(int epochs = 3, const std::string& optimizer = "adam") {
    test_support::write_tiny_mnist(data, kTrain, kTest);
    test_support::SmallExperiment{"faults", epochs, optimizer, 0.01, "relu", 5}.write(experiment);
  }
  // `timeout` turns a hang into a failure (exit 124) instead of a stuck test suite.
  std::string cmd(const std::string& args) const {
    return "timeout 60 " + test_support::run_experiment_path() + " --quiet --data-dir " + data + " " + args;
  }
  std::string images(const std::string& split) const { return data + "/mnist/" + split + "-images-idx3-ubyte"; }
  std::string labels(const std::string& split) const { return data + "/mnist/" + split + "-labels-idx1-ubyte"; }
};

void write_images(const std::string& path, uint32_t n, uint32_t rows, uint32_t cols) {
  test_support::write_file(path, test_support::make_idx({n, rows, cols}, std::vector<uint8_t>(size_t{n} * rows * cols, 7)));
}

void require_clean_error(const test_support::CommandResult& r, int code, const std::string& needle) {
  INFO(r.err);
  REQUIRE(r.exit_code == code);
  REQUIRE(r.err.find(needle) != std::string::npos);
  REQUIRE(r.err.find("terminate") == std::string::npos);
  REQUIRE(r.err.find("Sanitizer") == std::string::npos);
}

uint64_t test_seed() {
  const uint64_t seed = std::random_device{}();
  UNSCOPED_INFO("random seed " << seed);
  return seed;
}

// An interrupted run's checkpoint (signal after step `at` of the run) and its log.
struct Interrupted {
  std::string log, checkpoint;
  test_support::CommandResult result;
};
Interrupted interrupt_at(const Sandbox& s, const std::string& signal, uint64_t at, const std::string& name) {
  Interrupted i{s.dir + "/" + name + ".json", s.dir + "/" + name + ".ckpt", {}};
  i.result = run("MLPBENCH_FAULT_SIGNAL=" + signal + "@" + std::to_string(at) + " " +
                 s.cmd(s.experiment + " --out " + i.log + " --checkpoint " + i.checkpoint));
  return i;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Datasets

TEST_CASE("faults: images of the wrong shape exit 3 naming the file and both shapes", "[faults][data]") {
  struct Case {
    const char* split;
    uint32_t rows, cols;
    size_t n;
  };
  for (const Case c : {Case{"t10k", 40, 40, kTest}, Case{"train", 1, 1, kTrain}, Case{"train", 32, 32, kTrain},
                       Case{"t10k", 28, 27, kTest}, Case{"train", 784, 1, kTrain}}) {
    Sandbox s;
    write_images(s.images(c.split), static_cast<uint32_t>(c.n), c.rows, c.cols);
    const std::string log = s.dir + "/log.json";
    const auto r = run(s.cmd(s.experiment + " --out " + log));
    const std::string shape = std::to_string(c.rows) + "x" + std::to_string(c.cols);
    INFO(c.split << " " << shape);
    require_clean_error(r, 3, s.images(c.split));
    REQUIRE(r.err.find(shape) != std::string::npos);
    REQUIRE(r.err.find("28x28") != std::string::npos);
    REQUIRE_FALSE(fs::exists(log));
  }
}

TEST_CASE("faults: check_same_shape names the test file and both shapes", "[faults][data]") {
  mlpbench::Dataset train, test;
  train.height = train.width = 28;
  test.height = test.width = 40;
  test.images_path = "/x/t10k-images-idx3-ubyte";
  REQUIRE_THROWS_WITH(mlpbench::check_same_shape(train, test),
                      Catch::Matchers::Contains("/x/t10k-images-idx3-ubyte") &&
                          Catch::Matchers::Contains("40x40") && Catch::Matchers::Contains("28x28"));
  test.height = test.width = 28;
  REQUIRE_NOTHROW(mlpbench::check_same_shape(train, test));
}

TEST_CASE("faults: a FIFO, a folder or a device in place of a data file is refused at once", "[faults][data]") {
  for (const std::string kind : {"fifo", "folder", "device", "socket-like dangling"}) {
    Sandbox s;
    const std::string target = kind == "fifo" ? s.labels("train") : s.images("t10k");
    fs::remove(target);
    if (kind == "fifo") REQUIRE(mkfifo(target.c_str(), 0644) == 0);
    if (kind == "folder") fs::create_directory(target);
    if (kind == "device") fs::create_symlink("/dev/zero", target);
    if (kind == "socket-like dangling") fs::create_symlink(s.dir + "/nowhere", target);
    const auto r = run(s.cmd(s.experiment + " --out " + s.dir + "/log.json"));
    INFO(kind);
    require_clean_error(r, 3, target);
    if (kind == "fifo") REQUIRE(r.err.find("FIFO") != std::string::npos);
    if (kind == "folder") REQUIRE(r.err.find("folder") != std::string::npos);
    if (kind == "device") REQUIRE(r.err.find("device") != std::string::npos);
  }
}

TEST_CASE("faults: --resume of a FIFO, a folder or a device exits 2 without blocking", "[faults][checkpoint]") {
  Sandbox s;
  const std::string fifo = s.dir + "/pipe.ckpt";
  REQUIRE(mkfifo(fifo.c_str(), 0644) == 0);
  for (const std::string& path : {fifo, s.dir, std::string("/dev/zero"), s.dir + "/missing.ckpt"}) {
    const auto r = run(s.cmd("--resume " + path));
    INFO(path);
    require_clean_error(r, 2, path);
  }
}

// ---------------------------------------------------------------------------------------------
// Checkpoints: interrupted at random points, always resumable bitwise

TEST_CASE("faults: interrupted at random steps (incl. the partial last batch and evaluation), resume is bitwise",
          "[faults][checkpoint][resume]") {
  Sandbox s;
  const std::string full = s.dir + "/full.json";
  REQUIRE(run(s.cmd(s.experiment + " --out " + full)).exit_code == 0);
  const json reference = read_json(full);

  std::mt19937_64 gen(test_seed());
  // 16: the stop lands after step 17, the partial last batch; 17: the signal arrives during
  // the evaluation of epoch 1; 34: during the evaluation of epoch 2; 1: the first step.
  std::vector<std::pair<std::string, uint64_t>> points = {{"INT", 16}, {"INT", 17}, {"TERM", 34}, {"HUP", 1}};
  const char* signals[] = {"INT", "TERM", "HUP"};
  for (int i = 0; i < 4; ++i) points.push_back({signals[gen() % 3], 1 + gen() % (3 * kSteps - 1)});
  int n = 0;
  for (const auto& [signal, at] : points) {
    INFO(signal << "@" << at);
    const Interrupted i = interrupt_at(s, signal, at, "run" + std::to_string(n++));
    const int expected = signal == "INT" ? 130 : signal == "TERM" ? 143 : 129;
    INFO(i.result.err);
    REQUIRE(i.result.exit_code == expected);
    REQUIRE(i.result.err.find("SIG" + signal) != std::string::npos);
    REQUIRE(read_json(i.log)["status"] == "interrupted");
    const auto r = run(s.cmd("--resume " + i.checkpoint));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    const json resumed = read_json(i.log);
    REQUIRE(resumed["status"] == "completed");
    require_same_epoch_numbers(reference, resumed);
  }
}

TEST_CASE("faults: a checkpoint resumes from another folder into the same (absolute) log", "[faults][checkpoint]") {
  Sandbox s;
  const std::string rel_dir = s.dir + "/work";
  fs::create_directories(rel_dir);
  const auto r = run("cd " + rel_dir + " && MLPBENCH_FAULT_SIGNAL=INT@5 " +
                     s.cmd(s.experiment + " --out rel.json --checkpoint rel.ckpt"));
  INFO(r.err);
  REQUIRE(r.exit_code == 130);
  const auto c = mlpbench::read_checkpoint(rel_dir + "/rel.ckpt");
  REQUIRE(c.run_info.log == rel_dir + "/rel.json");
  const auto resumed = run("cd " + s.dir + " && " + s.cmd("--resume work/rel.ckpt"));
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  REQUIRE(read_json(rel_dir + "/rel.json")["status"] == "completed");
}

TEST_CASE("faults: --epochs below a checkpoint's progress exits 2; a finished run says so", "[faults][checkpoint]") {
  Sandbox s(3);
  const Interrupted i = interrupt_at(s, "INT", 2 * kSteps + 3, "run");
  REQUIRE(i.result.exit_code == 130);
  for (const char* epochs : {"1", "2"}) {
    const auto r = run(s.cmd("--resume " + i.checkpoint + " --epochs " + epochs + " --out " + s.dir + "/x.json"));
    require_clean_error(r, 2, "--epochs");
  }
  // A checkpoint written after epoch 2 of a 2-epoch run is a completed run.
  const std::string every = s.dir + "/every.ckpt";
  REQUIRE(run(s.cmd(s.experiment + " --epochs 3 --checkpoint-every 2 --checkpoint " + every + " --out " +
                    s.dir + "/e.json")).exit_code == 0);
  const auto r = run(s.cmd("--resume " + every + " --epochs 2 --out " + s.dir + "/y.json"));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.err.find("already completed") != std::string::npos);
  REQUIRE_FALSE(fs::exists(s.dir + "/y.json"));
}

// ---------------------------------------------------------------------------------------------
// Checkpoints: corruption

TEST_CASE("faults: random bit flips and truncations of a checkpoint exit 2, never crash", "[faults][checkpoint]") {
  Sandbox s;
  const Interrupted i = interrupt_at(s, "INT", 20, "run");
  REQUIRE(i.result.exit_code == 130);
  const std::string good = test_support::read_file(i.checkpoint);
  std::mt19937_64 gen(test_seed());
  const std::string bad = s.dir + "/bad.ckpt";
  for (int trial = 0; trial < 24; ++trial) {
    std::string bytes = good;
    std::string what;
    if (trial % 4 == 3) {
      bytes.resize(gen() % bytes.size());
      what = "truncated to " + std::to_string(bytes.size());
    } else {
      const size_t pos = gen() % bytes.size();
      const int bit = static_cast<int>(gen() % 8);
      bytes[pos] = static_cast<char>(bytes[pos] ^ (1 << bit));
      what = "bit " + std::to_string(bit) + " of byte " + std::to_string(pos) + " flipped";
    }
    test_support::write_file(bad, bytes);
    const auto r = run(s.cmd("--resume " + bad + " --out " + s.dir + "/resumed.json"));
    INFO(what);
    require_clean_error(r, 2, bad + ": not a usable checkpoint");
    REQUIRE_FALSE(fs::exists(s.dir + "/resumed.json"));
  }
}

namespace {

// A checkpoint rebuilt with one change: `edit` gets the metadata and the tensors, whose data
// it may point elsewhere; the result has valid checksums, so only field validation can stop it.
struct Rebuilt {
  json meta;
  mlpbench::SafetensorsFile file;
  std::vector<mlpbench::TensorView> tensors;
  std::vector<std::vector<char>> storage;
  explicit Rebuilt(const std::string& path) : file(mlpbench::read_safetensors(path)) {
    meta = test_support::parse_json(file.metadata.at("mlpbench.checkpoint"));
    for (const auto& [name, t] : file.tensors) tensors.push_back(t);
  }
  mlpbench::TensorView& tensor(const std::string& name) {
    for (auto& t : tensors) {
      if (t.name == name) return t;
    }
    FAIL("no tensor " << name);
    throw;
  }
  // Replaces a tensor's data with an editable copy.
  template <typename T>
  T* mutable_data(const std::string& name) {
    auto& t = tensor(name);
    size_t bytes = 4;
    for (size_t d : t.shape) bytes *= d;
    storage.emplace_back(static_cast<const char*>(t.data), static_cast<const char*>(t.data) + bytes);
    t.data = storage.back().data();
    return reinterpret_cast<T*>(storage.back().data());
  }
  void write(const std::string& path) const { test_support::write_file(path, mlpbench::encode_checkpoint(meta, tensors)); }
};

}  // namespace

TEST_CASE("faults: every checkpoint field is validated (exit 2 naming it)", "[faults][checkpoint]") {
  Sandbox s;
  const Interrupted i = interrupt_at(s, "INT", 20, "run");
  REQUIRE(i.result.exit_code == 130);
  const std::string bad = s.dir + "/bad.ckpt";
  {  // the unchanged rebuild resumes: the cases below fail for their change alone
    Rebuilt(i.checkpoint).write(bad);
    const auto r = run(s.cmd("--resume " + bad + " --out " + s.dir + "/ok.json"));
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  struct Case {
    std::string name, field;
    std::function<void(Rebuilt&)> edit;
  };
  const std::vector<Case> cases = {
      {"step beyond the epoch", "state/step", [](Rebuilt& c) { c.meta["state"]["step"] = 999; }},
      {"step far beyond", "state/step", [](Rebuilt& c) { c.meta["state"]["step"] = uint64_t{1} << 40; }},
      {"epoch beyond the run", "state/epoch", [](Rebuilt& c) { c.meta["state"]["epoch"] = 99; }},
      {"negative epoch", "state/epoch", [](Rebuilt& c) { c.meta["state"]["epoch"] = -1; }},
      {"updates off by one", "state/updates", [](Rebuilt& c) { c.meta["state"]["updates"] = c.meta["state"]["updates"].get<uint64_t>() + 1; }},
      {"seen does not match", "state/seen", [](Rebuilt& c) { c.meta["state"]["seen"] = 7; }},
      {"correct above seen", "state/correct", [](Rebuilt& c) { c.meta["state"]["correct"] = 1u << 30; }},
      {"loss sum NaN", "state/loss_sum", [](Rebuilt& c) { c.meta["state"]["loss_sum"] = "nan"; }},
      {"rng all zero", "state/shuffle_rng", [](Rebuilt& c) { c.meta["state"]["shuffle_rng"] = {0, 0, 0, 0}; }},
      {"history too long", "state/history", [](Rebuilt& c) { c.meta["state"]["history"].push_back(c.meta["state"]["history"][0]); }},
      {"history accuracy above 1", "train_accuracy", [](Rebuilt& c) { c.meta["state"]["history"][0]["train_accuracy"] = 1.5; }},
      {"negative phase time", "state/history/0/phases/threads/0/barrier_wait_seconds", [](Rebuilt& c) { c.meta["state"]["history"][0]["phases"]["threads"][0]["barrier_wait_seconds"] = -1; }},
      {"phase steps beyond the epoch", "state/history/0/phases/steps", [](Rebuilt& c) { c.meta["state"]["history"][0]["phases"]["steps"] = 1u << 20; }},
      {"no phase steps", "state/history/0/phases/steps", [](Rebuilt& c) { c.meta["state"]["history"][0]["phases"]["steps"] = 0; }},
      {"no phase threads", "state/history/0/phases/threads", [](Rebuilt& c) { c.meta["state"]["history"][0]["phases"]["threads"] = json::array(); }},
      {"relative log path", "run/log", [](Rebuilt& c) { c.meta["run"]["log"] = "rel.json"; }},
      {"format", "format", [](Rebuilt& c) { c.meta["format"] = "mlpbench.checkpoint/2"; }},
      {"experiment units", "tensor dense_0.kernel", [](Rebuilt& c) { c.meta["experiment"]["model"][0]["units"] = 25; }},
      {"order duplicate", "tensor order", [](Rebuilt& c) { auto* o = c.mutable_data<uint32_t>("order"); o[1] = o[0]; }},
      {"order out of range", "tensor order", [](Rebuilt& c) { c.mutable_data<uint32_t>("order")[3] = 1u << 31; }},
      {"order short", "tensor order", [](Rebuilt& c) { auto& t = c.tensor("order"); t.shape[0] -= 1; auto* o = c.mutable_data<uint32_t>("order"); for (size_t k = 0; k < t.shape[0]; ++k) o[k] = static_cast<uint32_t>(k); }},
      {"NaN weight", "tensor dense_1.bias", [](Rebuilt& c) { c.mutable_data<float>("dense_1.bias")[2] = std::numeric_limits<float>::quiet_NaN(); }},
      {"infinite moment", "tensor adam.m", [](Rebuilt& c) { c.mutable_data<float>("adam.m")[0] = std::numeric_limits<float>::infinity(); }},
      {"negative second moment", "tensor adam.v", [](Rebuilt& c) { c.mutable_data<float>("adam.v")[5] = -1; }},
      {"optimizer state size", "adam.v", [](Rebuilt& c) { c.tensor("adam.v").shape[0] -= 1; }},
      {"kernel shape", "tensor dense_0.kernel", [](Rebuilt& c) { std::swap(c.tensor("dense_0.kernel").shape[0], c.tensor("dense_0.kernel").shape[1]); }},
      {"missing tensor", "tensor dense_1.kernel", [](Rebuilt& c) { c.tensors.erase(std::find_if(c.tensors.begin(), c.tensors.end(), [](auto& t) { return t.name == "dense_1.kernel"; })); }},
      {"extra tensor", "tensor extra", [](Rebuilt& c) { auto t = c.tensor("dense_1.bias"); t.name = "extra"; c.tensors.push_back(t); }},
  };
  for (const Case& c : cases) {
    Rebuilt r(i.checkpoint);
    c.edit(r);
    r.write(bad);
    const auto out = run(s.cmd("--resume " + bad + " --out " + s.dir + "/never.json"));
    INFO(c.name);
    require_clean_error(out, 2, c.field);
    REQUIRE(out.err.find(bad) != std::string::npos);
    REQUIRE_FALSE(fs::exists(s.dir + "/never.json"));
  }
}

// ---------------------------------------------------------------------------------------------
// Signals and the terminal

TEST_CASE("faults: a closed stdout/stderr pipe never stops training", "[faults][signals]") {
  Sandbox s(2);
  const std::string log = s.dir + "/log.json";
  // Not --quiet: the model summary and per-epoch lines go into a pipe whose reader has gone.
  const std::string command = "timeout 60 " + test_support::run_experiment_path() + " --data-dir " + s.data +
                              " " + s.experiment + " --out " + log;
  const auto r = run("(" + command + " 2>&1; echo \"status $?\" >" + s.dir + "/status) | head -c 1");
  (void)r;
  REQUIRE(test_support::read_file(s.dir + "/status") == "status 0\n");
  REQUIRE(read_json(log)["status"] == "completed");
  REQUIRE(read_json(log)["epochs"].size() == 2);
}

TEST_CASE("faults: TERM=dumb and narrow terminals get no line longer than the terminal", "[faults][terminal]") {
  // script(1) gives the run a real terminal; skip where it is missing.
  if (std::system("command -v script >/dev/null 2>&1") != 0) {
    WARN("script(1) not found; skipped");
    return;
  }
  Sandbox s(1);
  for (const std::string term : {"dumb", "xterm"}) {
    const std::string out = s.dir + "/tty-" + term;
    const std::string command = "stty cols 40 2>/dev/null; TERM=" + term + " " + test_support::run_experiment_path() +
                                " --data-dir " + s.data + " " + s.experiment + " --out " + s.dir + "/" + term + ".json";
    const auto r = run("script -qec '" + command + "' " + out + " </dev/null");
    INFO(term << "\n" << r.out << r.err);
    REQUIRE(r.exit_code == 0);
    const std::string text = test_support::read_file(out);
    if (term == "dumb") REQUIRE(text.find("\033[K") == std::string::npos);
    // Each redraw (the part after the last \r of a line) fits in 39 columns.
    std::string line;
    for (char ch : text + "\n") {
      if (ch == '\n' || ch == '\r') {
        if (line.find("ETA") != std::string::npos) {
          const std::string visible = line.substr(0, line.find("\033[K"));
          INFO(visible);
          REQUIRE(visible.size() <= 39);
        }
        line.clear();
      } else {
        line += ch;
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Outputs: nothing lost, nothing overwritten without --force

TEST_CASE("faults: no existing file is replaced without --force, and collisions are refused", "[faults][outputs]") {
  Sandbox s(1);
  const std::string precious = s.dir + "/precious.json";
  test_support::write_file(precious, "precious");
  const Interrupted i = interrupt_at(s, "INT", 3, "run");
  REQUIRE(i.result.exit_code == 130);
  const std::string ckpt_bytes = test_support::read_file(i.checkpoint);
  const std::string fresh = s.dir + "/fresh.json";
  struct Case {
    std::string args, needle;
  };
  const std::vector<Case> cases = {
      {s.experiment + " --out " + precious, "--out"},
      {s.experiment + " --out " + fresh + " --checkpoint " + precious, "--checkpoint"},
      {s.experiment + " --out " + fresh + " --save-weights " + precious, "--save-weights"},
      {"--resume " + i.checkpoint + " --out " + precious, "--out"},
      {s.experiment + " --out " + fresh + " --save-weights " + s.experiment, "input"},
      {s.experiment + " --force --out " + fresh + " --save-weights " + s.experiment, "input"},
      {s.experiment + " --force --out " + s.images("train"), "input"},
      {s.experiment + " --out " + fresh + " --save-weights " + fresh, "--out"},
      {s.experiment + " --out " + fresh + " --checkpoint " + fresh, "--out"},
      {"--resume " + i.checkpoint + " --force --out " + i.checkpoint, "--checkpoint"},
      {s.experiment + " --out " + s.dir, "folder"},
      {s.experiment + " --out " + s.dir + "/", "folder"},
      {s.experiment + " --out " + precious + "/log.json", "not a folder"},
      {s.experiment + " --out " + fresh + " --save-weights /proc/self/w.safetensors", "--save-weights"},
  };
  for (const Case& c : cases) {
    const auto r = run(s.cmd(c.args));
    INFO(c.args);
    require_clean_error(r, 2, c.needle);
    REQUIRE(test_support::read_file(precious) == "precious");
    REQUIRE(test_support::read_file(s.experiment).find("faults") != std::string::npos);
    REQUIRE(test_support::read_file(i.checkpoint) == ckpt_bytes);
    REQUIRE_FALSE(fs::exists(fresh));  // refused before training: no log at all
  }
  // With --force the same regular files are replaced.
  const auto r = run(s.cmd(s.experiment + " --force --out " + precious + " --save-weights " + fresh));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(read_json(precious)["status"] == "completed");
}

TEST_CASE("faults: special files are never replaced, not even with --force", "[faults][outputs]") {
  Sandbox s(1);
  const std::string fifo = s.dir + "/fifo", dev = s.dir + "/null-link";
  REQUIRE(mkfifo(fifo.c_str(), 0644) == 0);
  fs::create_symlink("/dev/null", dev);
  for (const std::string option : {"--out", "--checkpoint", "--save-weights"}) {
    for (const std::string& target : {fifo, dev}) {
      const std::string out = option == "--out" ? target : s.dir + "/log.json";
      const auto r = run(s.cmd(s.experiment + " --force --out " + out + (option == "--out" ? "" : " " + option + " " + target)));
      INFO(option << " " << target);
      require_clean_error(r, 2, target);
      REQUIRE(fs::is_fifo(fifo));
      REQUIRE(fs::is_symlink(dev));
      REQUIRE(fs::is_character_file("/dev/null"));
    }
  }
}

TEST_CASE("faults: two runs given one --out: exactly one owns it", "[faults][outputs]") {
  Sandbox s(2);
  const std::string log = s.dir + "/shared.json";
  std::vector<pid_t> pids;
  for (int k = 0; k < 2; ++k) {
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string c = s.cmd(s.experiment + " --out " + log + " --checkpoint " + s.dir + "/c" + std::to_string(k) +
                                  ".ckpt") + " >/dev/null 2>" + s.dir + "/err" + std::to_string(k);
      execl("/bin/sh", "sh", "-c", c.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    pids.push_back(pid);
  }
  int ok = 0, refused = 0;
  for (pid_t pid : pids) {
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    ok += WEXITSTATUS(status) == 0;
    refused += WEXITSTATUS(status) == 2;
  }
  INFO(test_support::read_file(s.dir + "/err0") << test_support::read_file(s.dir + "/err1"));
  REQUIRE(ok == 1);
  REQUIRE(refused == 1);
  REQUIRE(read_json(log)["status"] == "completed");
}

TEST_CASE("faults: default log names are unique for runs started together", "[faults][outputs]") {
  Sandbox s(1);
  // A name of its own under results/runs/, removed at the end.
  const std::string name = "faults-unique-" + std::to_string(::getpid());
  json e = read_json(s.experiment);
  e["name"] = name;
  test_support::write_file(s.experiment, test_support::dump_json(e));
  const auto r = run("(" + s.cmd(s.experiment) + " & " + s.cmd(s.experiment) + " & " + s.cmd(s.experiment + " --seed 6") +
                     " & wait)");
  const std::string folder = test_support::source_dir() + "/results/runs/" + name;
  std::vector<std::string> logs;
  if (fs::exists(folder)) {
    for (const auto& entry : fs::directory_iterator(folder)) {
      if (entry.path().extension() == ".json") logs.push_back(entry.path().string());
    }
  }
  std::error_code ec;
  fs::remove_all(folder, ec);
  INFO(r.err);
  REQUIRE(logs.size() == 3);
  for (const auto& l : logs) {
    INFO(l);
    REQUIRE(l.find("-s") != std::string::npos);
  }
}

TEST_CASE("faults: an interrupt with an unwritable checkpoint location still ends interrupted", "[faults][signals]") {
  Sandbox s(2);
  const std::string log = s.dir + "/log.json", ckpt = s.dir + "/big.ckpt";
  // A file size limit (ulimit -f, in 512-byte blocks) below the checkpoint's size but above
  // the log's: the checkpoint write fails with EFBIG (SIGXFSZ is ignored), the log succeeds.
  const auto r = run("ulimit -f 64 && MLPBENCH_FAULT_SIGNAL=INT@5 " + s.cmd(s.experiment + " --out " + log + " --checkpoint " + ckpt));
  INFO(r.err);
  REQUIRE(r.exit_code == 130);
  REQUIRE(r.err.find("checkpoint NOT written") != std::string::npos);
  REQUIRE(read_json(log)["status"] == "interrupted");
  REQUIRE_FALSE(fs::exists(ckpt));
}

TEST_CASE("faults: SIGINT at random moments leaves valid files and a bitwise resume", "[faults][signals][resume]") {
  Sandbox s(3);
  const std::string full = s.dir + "/full.json";
  REQUIRE(run(s.cmd(s.experiment + " --out " + full)).exit_code == 0);
  std::mt19937_64 gen(test_seed());
  for (int trial = 0; trial < 4; ++trial) {
    const std::string log = s.dir + "/r" + std::to_string(trial) + ".json", ckpt = s.dir + "/r" + std::to_string(trial) + ".ckpt";
    const pid_t pid = fork();
    if (pid == 0) {
      // No `timeout` in front: the signal must reach run_experiment itself.
      const std::string c = "exec " + test_support::run_experiment_path() + " --quiet --data-dir " + s.data + " " +
                            s.experiment + " --out " + log + " --checkpoint " + ckpt + " >/dev/null 2>&1";
      execl("/bin/sh", "sh", "-c", c.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    const int delay_ms = static_cast<int>(gen() % 400);
    INFO("SIGINT after " << delay_ms << " ms");
    usleep(static_cast<useconds_t>(delay_ms) * 1000);
    kill(pid, SIGINT);
    int status = 0;
    waitpid(pid, &status, 0);
    // Before the handlers are installed (data loading) SIGINT ends the process at once: then no
    // file may exist, or only complete ones.
    const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    REQUIRE((code == 0 || code == 130));
    if (fs::exists(log)) REQUIRE_NOTHROW(read_json(log));
    if (code == 130 && fs::exists(ckpt)) {
      const auto r = run(s.cmd("--resume " + ckpt));
      INFO(r.err);
      REQUIRE(r.exit_code == 0);
      require_same_epoch_numbers(read_json(full), read_json(log));
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Logs that tell the truth; options and keys held to their documented ranges

TEST_CASE("faults: run.threads is the team OpenMP granted, with the request beside it", "[faults][threads]") {
  Sandbox s(1);
  const std::string log = s.dir + "/log.json";
  const auto r = run("OMP_THREAD_LIMIT=1 " + s.cmd(s.experiment + " --threads 2 --out " + log));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const json j = read_json(log);
  REQUIRE(j["run"]["threads"] == 1);
  REQUIRE(j["run"]["threads_requested"] == 2);
  // More threads than CPUs: allowed, warned about, and the numbers are the same.
  const std::string many = s.dir + "/many.json";
  const auto m = run(s.cmd(s.experiment + " --threads 16 --train-limit 200 --out " + many));
  INFO(m.err);
  REQUIRE(m.exit_code == 0);
  if (std::thread::hardware_concurrency() < 16) REQUIRE(m.err.find("16 threads on") != std::string::npos);
}

TEST_CASE("faults: integer options take exactly their documented range", "[faults][cli]") {
  Sandbox s(1);
  struct Case {
    std::string args, option;
  };
  for (const Case& c : std::vector<Case>{{"--train-limit -5", "--train-limit"},
                                         {"--train-limit=-5", "--train-limit"},
                                         {"--test-limit 1.5", "--test-limit"},
                                         {"--seed -1", "--seed"},
                                         {"--seed 18446744073709551616", "--seed"},
                                         {"--seed 0x10", "--seed"},
                                         {"--epochs 0", "--epochs"},
                                         {"--epochs 1e3", "--epochs"},
                                         {"--epochs 100001", "--epochs"},
                                         {"--threads 1025", "--threads"},
                                         {"--threads +2", "--threads"},
                                         {"--batch-size 65537", "--batch-size"},
                                         {"--checkpoint-every 0", "--checkpoint-every"}}) {
    const auto r = run(s.cmd(s.experiment + " " + c.args + " --out " + s.dir + "/never.json"));
    INFO(c.args);
    require_clean_error(r, 2, c.option + ": expected an integer from ");
    REQUIRE_FALSE(fs::exists(s.dir + "/never.json"));
  }
  const std::string log = s.dir + "/seed.json";
  const auto r = run(s.cmd(s.experiment + " --seed 18446744073709551615 --train-limit 0 --out " + log));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(read_json(log)["run"]["seed"].get<uint64_t>() == 18446744073709551615ull);
  REQUIRE(read_json(log)["run"]["train_samples"] == kTrain);  // 0 = all
}

TEST_CASE("faults: vague messages made clear", "[faults][cli]") {
  Sandbox s(1);
  const std::string tiny = s.dir + "/tiny.json";
  json e = read_json(s.experiment);
  e["optimizer"]["epsilon"] = 1e-320;
  test_support::write_file(tiny, test_support::dump_json(e));
  require_clean_error(run(s.cmd(tiny)), 2, "/optimizer/epsilon: expected a positive number of at least 1.17549e-38");
  require_clean_error(run(s.cmd(s.experiment + " --sweep-simd NOPE --out " + s.dir + "/sw")), 2, "--sweep-simd: no compiled");
  require_clean_error(run(s.cmd(s.experiment + " --sweep-threads 1,1 --out " + s.dir + "/sw")), 2, "--sweep-threads: 1 is given twice");
  for (const auto& [args, says] : std::vector<std::pair<std::string, std::string>>{
           {"--sweep-batch-size 32,32", "--sweep-batch-size: 32 is given twice"},
           {"--sweep-batch-size 4294967296", "--sweep-batch-size: 4294967296 is too large"},
           {"--sweep-batch-size 70000", "--sweep-batch-size: expected sizes from 1 to 65536, got 70000"},
           {"--sweep-threads 1,+2", "--sweep-threads: expected positive integers"},
           {"--sweep-threads 1,,2", "--sweep-threads: an empty item in \"1,,2\""},
           {"--sweep-batch-size 32,", "--sweep-batch-size: an empty item in \"32,\""},
           {"--sweep-simd SCALAR,", "--sweep-simd: an empty item"},
           {"--sweep-simd ''", "--sweep-simd: expected a comma-separated list"},
           {"--sweep-simd SCALAR,scalar", "--sweep-simd: scalar is given twice"},
           {"--train-limit 10 --train-limit 20", "--train-limit: given more than once"},
           {"--sweep-threads 1 --sweep-threads 2", "--sweep-threads: given more than once"}}) {
    INFO(args);
    require_clean_error(run(s.cmd(s.experiment + " " + args + " --out " + s.dir + "/sw")), 2, says);
  }
  REQUIRE((!fs::exists(s.dir + "/sw") || fs::is_empty(s.dir + "/sw")));  // refused before any run
  require_clean_error(run(s.cmd(s.experiment + " --sweep-repeats 2 --out " + s.dir + "/sw.json")), 2,
                      "--out: a sweep writes a folder of logs");
  REQUIRE_FALSE(fs::exists(s.dir + "/sw.json"));
  const std::string huge = s.dir + "/huge.json";
  e = read_json(s.experiment);
  e["model"] = json::array();
  // About 100 GiB: 1.1e9 parameters with Adam, activations of 65,536 rows x 65,536 units.
  for (int l = 0; l < 2; ++l) e["model"].push_back({{"units", 32768}, {"activation", "relu"}});
  e["model"].push_back({{"units", 10}, {"activation", "softmax"}});
  test_support::write_file(huge, test_support::dump_json(e));
  const auto r = run(s.cmd(huge + " --batch-size 65536 --out " + s.dir + "/huge-log.json"));
  require_clean_error(r, 2, "this run needs about");
  REQUIRE(r.err.find("available") != std::string::npos);
  REQUIRE_FALSE(fs::exists(s.dir + "/huge-log.json"));
}

TEST_CASE("faults: the log is rewritten at most once a second while running", "[faults][log]") {
  const std::string dir = test_support::temp_dir(), path = dir + "/log.json";
  mlpbench::RunLog log(path, json::object(), json::object(), /*create=*/true);
  log.write("running", {}, 0);
  REQUIRE_THROWS_AS(mlpbench::RunLog(path, json::object(), json::object(), true).write("running", {}, 0),
                    mlpbench::OutputExists);
  std::vector<mlpbench::EpochResult> epochs(1);
  epochs[0].epoch = 1;
  REQUIRE_FALSE(log.write_running(epochs, 0.1));  // just written: not again within the interval
  REQUIRE(read_json(path)["epochs"].empty());
  log.write("completed", epochs, 0.2);             // final states are always written
  REQUIRE(read_json(path)["epochs"].size() == 1);
}

TEST_CASE("faults: a run that fails after training started ends its log \"failed\" with the error", "[faults][log]") {
  // The weights (75 KB) and a checkpoint (225 KB) exceed a 32 KB file size limit (ulimit -f, in
  // 512-byte blocks) that the log fits in: the write fails with EFBIG (SIGXFSZ is ignored).
  struct Case {
    std::string what, args, output;
    size_t epochs_logged;
  };
  Sandbox s(3);
  const std::string weights = s.dir + "/w.safetensors", ckpt = s.dir + "/c.ckpt";
  for (const Case& c : {Case{"weights written after the last epoch", "--save-weights " + weights, weights, 3},
                        Case{"a checkpoint after epoch 1", "--checkpoint-every 1 --checkpoint " + ckpt, ckpt, 1}}) {
    INFO(c.what);
    const std::string log = s.dir + "/log.json";
    fs::remove(log);
    const auto r = run("ulimit -f 64 && " + s.cmd(s.experiment + " --out " + log + " " + c.args));
    require_clean_error(r, 1, c.output);
    const json j = read_json(log);
    REQUIRE(j["status"] == "failed");
    REQUIRE(j["error"].get<std::string>().find(c.output) != std::string::npos);
    REQUIRE(j["epochs"].size() == c.epochs_logged);
    if (c.epochs_logged < 3) REQUIRE_FALSE(j.contains("evaluation"));  // not evaluated: stopped in epoch 2
    REQUIRE_FALSE(fs::exists(c.output));
  }
}

TEST_CASE("faults: a --save-weights path taken during the run: the log says \"failed\", the file is kept", "[faults][log]") {
  // Another process creates the weights file while the run trains; the run must not replace it
  // and must not call itself completed. A run that finishes before the file could be created
  // is retried with more epochs.
  for (int epochs = 100; epochs <= 100000; epochs *= 10) {
    Sandbox s(epochs);
    const std::string log = s.dir + "/log.json", weights = s.dir + "/w.safetensors";
    const std::string err = s.dir + "/err";
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string c = s.cmd(s.experiment + " --train-limit 64 --test-limit 32 --out " + log + " --save-weights " +
                                  weights) + " >/dev/null 2>" + err;
      execl("/bin/sh", "sh", "-c", c.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    REQUIRE(wait_for_file(log, pid));  // the log exists: training is under way
    const int fd = ::open(weights.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
    const bool ours = fd >= 0 && ::write(fd, "theirs", 6) == 6;
    if (fd >= 0) ::close(fd);
    int status = 0;
    waitpid(pid, &status, 0);
    REQUIRE(WIFEXITED(status));
    if (!ours) {  // the run was faster: it completed and wrote its weights
      REQUIRE(WEXITSTATUS(status) == 0);
      continue;
    }
    INFO(test_support::read_file(err));
    REQUIRE(WEXITSTATUS(status) == 1);
    REQUIRE(test_support::read_file(err).find(weights) != std::string::npos);
    REQUIRE(test_support::read_file(weights) == "theirs");
    const json j = read_json(log);
    REQUIRE(j["status"] == "failed");
    REQUIRE(j["error"].get<std::string>().find(weights) != std::string::npos);
    REQUIRE(j["epochs"].size() == static_cast<size_t>(epochs));
    return;
  }
  FAIL("every run finished before its weights path could be taken");
}

TEST_CASE("faults: a diverging run ends its log \"diverged\" (exit 4) and writes no weights", "[faults][log]") {
  Sandbox s(50, "sgd");
  json e = read_json(s.experiment);
  e["model"][0]["activation"] = "linear";  // nothing bounds the activations
  e["optimizer"]["learning_rate"] = 10;    // the highest rate allowed
  test_support::write_file(s.experiment, test_support::dump_json(e));
  const std::string log = s.dir + "/log.json", weights = s.dir + "/w.safetensors";
  const auto r = run(s.cmd(s.experiment + " --out " + log + " --save-weights " + weights));
  require_clean_error(r, 4, "diverged");
  const json j = read_json(log);
  REQUIRE(j["status"] == "diverged");
  REQUIRE_FALSE(j.contains("error"));
  REQUIRE_FALSE(fs::exists(weights));
}

// ---------------------------------------------------------------------------------------------
// The run log: bounded cost, and one whole version for readers and after a kill

namespace {

std::vector<mlpbench::EpochResult> fake_epochs(size_t n, std::mt19937_64& gen) {
  std::uniform_real_distribution<double> u(0, 1);
  std::vector<mlpbench::EpochResult> epochs(n);
  for (size_t i = 0; i < n; ++i) {
    auto& e = epochs[i];
    e.epoch = static_cast<int>(i + 1);
    e.train_loss = u(gen), e.train_accuracy = u(gen), e.test_loss = u(gen), e.test_accuracy = u(gen);
    e.train_seconds = u(gen), e.eval_seconds = u(gen), e.samples_per_second = 1e5 * u(gen), e.gflops = 10 * u(gen);
    e.steps = 2;
    e.barrier_us = u(gen);
  }
  return epochs;
}

// A log read back: epochs numbered 1..k with the numbers written, a summary that describes them.
void require_consistent_log(const json& j, const std::vector<mlpbench::EpochResult>& written) {
  REQUIRE(j["schema"] == "mlpbench.run/1");
  const json& epochs = j["epochs"];
  REQUIRE(epochs.size() <= written.size());
  for (size_t i = 0; i < epochs.size(); ++i) {
    INFO("epoch " << i + 1);
    REQUIRE(epochs[i]["epoch"] == i + 1);
    REQUIRE(epochs[i]["test_accuracy"].get<double>() == written[i].test_accuracy);
  }
  if (!epochs.empty()) REQUIRE(j["summary"]["final_test_accuracy"] == epochs.back()["test_accuracy"]);
}

}  // namespace

TEST_CASE("faults: a running log is rewritten no more often than keeps its cost under 2 %", "[faults][log]") {
  using std::chrono::milliseconds;
  using mlpbench::RunLog;
  // Cheap writes: at most once a second. Dear ones: only after 49 times their cost has passed.
  REQUIRE(RunLog::rewrite_interval(milliseconds(0)) == milliseconds(1000));
  REQUIRE(RunLog::rewrite_interval(milliseconds(5)) == milliseconds(1000));
  REQUIRE(RunLog::rewrite_interval(milliseconds(100)) == milliseconds(4900));
  const std::chrono::steady_clock::duration cost = milliseconds(400);
  const auto wait = RunLog::rewrite_interval(cost);
  REQUIRE(static_cast<double>(cost.count()) / static_cast<double>((cost + wait).count()) <= RunLog::kMaxWriteShare + 1e-12);

  // A write just made is not followed by another until the interval has passed.
  const std::string dir = test_support::temp_dir(), path = dir + "/log.json";
  std::mt19937_64 gen(test_seed());
  const auto epochs = fake_epochs(3, gen);
  RunLog log(path, json::object(), json::object(), /*create=*/true);
  log.write("running", {epochs[0]}, 0);
  REQUIRE_FALSE(log.write_running({epochs[0], epochs[1]}, 0));
  REQUIRE(read_json(path)["epochs"].size() == 1);
  log.write("completed", epochs, 0);  // the end always writes
  REQUIRE(read_json(path)["epochs"].size() == 3);
}

TEST_CASE("faults: a reader parsing a log while it is rewritten always reads one whole version", "[faults][log]") {
  const std::string dir = test_support::temp_dir(), path = dir + "/log.json";
  std::mt19937_64 gen(test_seed());
  const auto epochs = fake_epochs(200, gen);
  mlpbench::RunLog log(path, json::object(), json::object(), /*create=*/true);
  log.write("running", {}, 0);
  const pid_t pid = fork();
  if (pid == 0) {
    // The writer: as fast as it goes, a version per epoch up to 200 epochs, then versions whose
    // trailer grows and shrinks (an error comes and goes), until the parent kills it.
    std::vector<mlpbench::EpochResult> so_far;
    for (size_t i = 0; i < 100000; ++i) {
      if (so_far.size() < epochs.size()) so_far.push_back(epochs[so_far.size()]);
      log.set_error(i % 3 == 0 ? std::string(i % 9000, 'e') : std::string());
      log.write("running", so_far, 0);
    }
    _exit(0);
  }
  // At least 1,000 reads that saw 50 versions (a bounded count, not a time), or the writer ended.
  size_t reads = 0, versions = 0;
  json last;
  int status = 0;
  bool writer_ended = false;
  while ((reads < 1000 || versions < 50) && !writer_ended && reads < 1000000) {
    ++reads;
    json j;
    try {
      j = read_json(path);
    } catch (const std::exception& ex) {
      FAIL("read " << reads << " was not a whole version: " << ex.what());
    }
    const json& e = j["epochs"];
    bool consistent = j["status"] == "running" && e.size() <= epochs.size();
    for (size_t i = 0; consistent && i < e.size(); ++i) {
      consistent = e[i]["epoch"] == i + 1 && e[i]["test_accuracy"].get<double>() == epochs[i].test_accuracy;
    }
    if (consistent && !e.empty()) consistent = j["summary"]["final_test_accuracy"] == e.back()["test_accuracy"];
    if (!consistent) FAIL("read " << reads << ": epochs and summary disagree: " << test_support::dump_json(j).substr(0, 2000));
    j.erase("writer");  // its updated_utc changes each second
    if (j != last) ++versions;
    last = std::move(j);
    writer_ended = waitpid(pid, &status, WNOHANG) == pid;
  }
  if (!writer_ended) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
  }
  INFO(versions << " versions seen in " << reads << " reads");
  REQUIRE(versions > 1);  // the reads overlapped the writes
}

TEST_CASE("faults: a log whose trailer shrinks or whose head changes stays valid", "[faults][log]") {
  const std::string dir = test_support::temp_dir(), path = dir + "/log.json";
  std::mt19937_64 gen(test_seed());
  const auto epochs = fake_epochs(3, gen);
  mlpbench::RunLog log(path, json::object(), json::object(), /*create=*/true);
  log.set_error(std::string(5000, 'x'));  // a long trailer, then a short one: padded
  log.write("running", {epochs[0]}, 0);
  log.set_error("");
  log.write("running", {epochs[0], epochs[1]}, 0);
  json j = read_json(path);
  REQUIRE_FALSE(j.contains("error"));
  require_consistent_log(j, epochs);
  REQUIRE(j["epochs"].size() == 2);
  log.set_build({{"compiler", "changed"}});  // the head changed: the file is rewritten
  log.write("completed", epochs, 0);
  j = read_json(path);
  REQUIRE(j["build"]["compiler"] == "changed");
  REQUIRE(j["status"] == "completed");
  REQUIRE(j["epochs"].size() == 3);
}

TEST_CASE("faults: a log replaced or removed by another process is left alone", "[faults][log]") {
  const std::string dir = test_support::temp_dir(), path = dir + "/log.json";
  std::mt19937_64 gen(test_seed());
  const auto epochs = fake_epochs(2, gen);
  for (const bool remove : {false, true}) {
    mlpbench::RunLog log(path, json::object(), json::object(), /*create=*/!remove);
    log.write("running", {epochs[0]}, 0);
    if (remove) {
      fs::remove(path);
    } else {
      test_support::write_file(dir + "/other.json", "{\"theirs\": true}");
      fs::rename(dir + "/other.json", path);  // as a second writer's rename would
    }
    INFO((remove ? "removed" : "replaced"));
    REQUIRE_THROWS_WITH(log.write("completed", epochs, 0), Catch::Contains("replaced or removed by another process"));
    if (remove) {
      REQUIRE_FALSE(fs::exists(path));
    } else {
      REQUIRE(read_json(path) == json{{"theirs", true}});
    }
  }
}

TEST_CASE("faults: a SIGKILL at any moment leaves a log that parses, with consistent epochs", "[faults][log][signals]") {
  const std::string dir = test_support::temp_dir();
  std::mt19937_64 gen(test_seed());
  const auto epochs = fake_epochs(100000, gen);
  for (int trial = 0; trial < 40; ++trial) {
    const std::string path = dir + "/k" + std::to_string(trial) + ".json";
    const pid_t pid = fork();
    if (pid == 0) {
      // As fast as the writes go, with a trailer that grows and shrinks (an error comes and goes).
      mlpbench::RunLog log(path, json::object(), json::object(), /*create=*/true);
      std::vector<mlpbench::EpochResult> so_far;
      for (const auto& e : epochs) {
        so_far.push_back(e);
        log.set_error(e.epoch % 3 == 0 ? std::string(static_cast<size_t>(e.epoch % 700), 'e') : std::string());
        log.write("running", so_far, 0);
      }
      _exit(0);
    }
    const int delay_us = static_cast<int>(gen() % 300000);
    INFO("SIGKILL after " << delay_us << " us");
    usleep(static_cast<useconds_t>(delay_us));
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    if (!fs::exists(path)) continue;  // killed before the first write
    json j;
    REQUIRE_NOTHROW(j = read_json(path));
    REQUIRE(j["status"] == "running");
    require_consistent_log(j, epochs);
  }
  // The real program, killed while training epochs of two steps.
  Sandbox s(100000);
  for (int trial = 0; trial < 3; ++trial) {
    const std::string log = s.dir + "/run" + std::to_string(trial) + ".json";
    const pid_t pid = fork();
    if (pid == 0) {
      const std::string c = "exec " + test_support::run_experiment_path() + " --quiet --data-dir " + s.data + " " +
                            s.experiment + " --train-limit 64 --test-limit 32 --out " + log + " >/dev/null 2>&1";
      execl("/bin/sh", "sh", "-c", c.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    REQUIRE(wait_for_file(log, pid));
    const int delay_ms = 200 + static_cast<int>(gen() % 2500);
    INFO("SIGKILL " << delay_ms << " ms after the log appeared");
    usleep(static_cast<useconds_t>(delay_ms) * 1000);
    kill(pid, SIGKILL);
    int status = 0;
    waitpid(pid, &status, 0);
    json j;
    REQUIRE_NOTHROW(j = read_json(log));
    REQUIRE(j["status"] == "running");
    const json& e = j["epochs"];
    for (size_t i = 0; i < e.size(); ++i) REQUIRE(e[i]["epoch"] == i + 1);
    if (!e.empty()) REQUIRE(j["summary"]["final_test_accuracy"] == e.back()["test_accuracy"]);
  }
}

}  // namespace test_faults
