// libtorch_mlp end to end on tiny IDX files the test writes: its log, its arguments, and that it
// trains what the engine trains (same initial weights and batches: the same losses, nearly).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.h"

using nlohmann::json;
using test_support::run;

namespace {

const std::string kPeer = MLPBENCH_LIBTORCH_MLP;

struct Sandbox {
  std::string dir = test_support::temp_dir();
  std::string experiment = dir + "/exp.json";
  json e;
  explicit Sandbox(const json& optimizer = {{"name", "adam"}, {"learning_rate", 0.01}}) {
    test_support::write_tiny_mnist(dir + "/data", 300, 100);
    e = {{"name", "libtorch_peer_test"},
                    {"dataset", "mnist"},
                    {"model", {{{"units", 16}, {"activation", "relu"}}, {{"units", 10}, {"activation", "softmax"}}}},
                    {"loss", "sparse_categorical_crossentropy"},
                    {"optimizer", optimizer},
                    {"epochs", 2},
                    {"batch_size", 32},
                    {"seed", 7},
                    {"threads", 1}};
    write(e);
  }
  void write(const json& experiment_json) const { test_support::write_file(experiment, experiment_json.dump(2)); }
  std::string args(const std::string& more) const {
    return experiment + " --quiet --data-dir " + dir + "/data " + more;
  }
};

json read_json(const std::string& path) { return json::parse(test_support::read_file(path)); }

}  // namespace

TEST_CASE("the libtorch peer writes a complete run log and learns") {
  Sandbox s;
  const std::string log_path = s.dir + "/log.json";
  const auto r = run(kPeer + " " + s.args("--torch-threads 1 --blas-threads 2 --out " + log_path));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out == log_path + "\n");
  const json log = read_json(log_path);
  CHECK(log["schema"] == "mlpbench.run/1");
  CHECK(log["status"] == "completed");
  CHECK(log["experiment"]["name"] == "libtorch_peer_test");
  const json& build = log["build"];
  CHECK(build["compiler"].get<std::string>().rfind("libtorch 1.", 0) == 0);
  CHECK(build["simd_config"] == "peer");
  CHECK(build["peer_config"]["torch_threads"] == 1);
  CHECK(build["peer_config"].contains("OPENBLAS_CORETYPE"));
  CHECK(log["run"]["train_samples"] == 300);
  CHECK(log["run"]["test_samples"] == 100);
  CHECK(log["run"].contains("host_noisy"));
  REQUIRE(log["epochs"].size() == 2);
  CHECK(log["epochs"][0]["epoch"] == 1);
  CHECK(log["epochs"][0]["steps"] == 10);  // ceil(300 / 32): the last partial batch is kept
  CHECK(log["epochs"][1]["train_seconds"].get<double>() > 0);
  CHECK(log["summary"]["final_test_accuracy"] == log["epochs"][1]["test_accuracy"]);
  // Ten classes: chance is 0.1; the tiny dataset is easy to learn.
  CHECK(log["epochs"][1]["test_accuracy"].get<double>() > 0.5);
  CHECK(log["evaluation"]["confusion_matrix"].size() == 10);
}

TEST_CASE("the libtorch peer trains the engine's model on the engine's batches") {
  // Plain SGD: the same initial weights and batch order give the same losses up to float
  // rounding (GEMMs that sum in another order); another order of batches or other initial
  // weights would differ in the second digit.
  Sandbox s({{"name", "sgd"}, {"learning_rate", 0.05}});
  const auto peer = run(kPeer + " " + s.args("--threads 1 --out " + s.dir + "/peer.json"));
  INFO(peer.err);
  REQUIRE(peer.exit_code == 0);
  const auto engine = run(test_support::run_experiment_path() + " " + s.args("--threads 1 --out " + s.dir + "/engine.json"));
  INFO(engine.err);
  REQUIRE(engine.exit_code == 0);
  const json p = read_json(s.dir + "/peer.json"), e = read_json(s.dir + "/engine.json");
  for (size_t i = 0; i < 2; ++i) {
    for (const char* key : {"train_loss", "test_loss"}) {
      INFO("epoch " << i + 1 << " " << key);
      const double a = p["epochs"][i][key], b = e["epochs"][i][key];
      CHECK(std::abs(a - b) <= 1e-4 * std::abs(b));
    }
  }
}

TEST_CASE("the libtorch peer refuses bad arguments and inputs with exit 2 or 3") {
  Sandbox s;
  const std::string out = " --out " + s.dir + "/x.json";
  SECTION("help") {
    const auto r = run(kPeer + " --help");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("--blas-threads") != std::string::npos);
  }
  SECTION("bad numbers and unknown options") {
    for (const std::string bad : {"--epochs 0", "--threads -1", "--torch-threads x", "--train-limit 1.5",
                                  "--no-such-option", "--seed -3"}) {
      const auto r = run(kPeer + " " + s.args(bad + out));
      INFO(bad << ": " << r.err);
      CHECK(r.exit_code == 2);
      CHECK(r.err.find("error: ") != std::string::npos);
    }
    CHECK(run(kPeer + " --quiet").exit_code == 2);  // no experiment
  }
  SECTION("a bad experiment names the field") {
    json e = s.e;
    e["epochs"] = "many";
    s.write(e);
    const auto r = run(kPeer + " " + s.args(out));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("/epochs") != std::string::npos);
  }
  SECTION("what only the engine does is refused, not ignored") {
    json e = s.e;
    e["validation_split"] = 0.2;
    s.write(e);
    const auto r = run(kPeer + " " + s.args(out));
    CHECK(r.exit_code == 2);
    CHECK(r.err.find("/validation_split") != std::string::npos);
  }
  SECTION("missing data") {
    const auto r = run(kPeer + " " + s.experiment + " --quiet --data-dir " + s.dir + "/nowhere" + out);
    CHECK(r.exit_code == 3);
    CHECK(r.err.find("nowhere") != std::string::npos);
  }
  SECTION("an existing log is not replaced without --force") {
    test_support::write_file(s.dir + "/x.json", "keep");
    const auto r = run(kPeer + " " + s.args(out));
    CHECK(r.exit_code == 2);
    CHECK(test_support::read_file(s.dir + "/x.json") == "keep");
  }
}
