// onednn_mlp end to end on tiny IDX files the test writes: its log, its arguments, and that it
// trains what the engine trains (same initial weights and batches: nearly the same losses).
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include <nlohmann/json.hpp>

#include "test_support.h"

using nlohmann::json;
using test_support::run;

namespace {

const std::string kPeer = MLPBENCH_ONEDNN_MLP;

struct Sandbox {
  std::string dir = test_support::temp_dir();
  std::string experiment = dir + "/exp.json";
  json e;
  // Two hidden layers, so that the input gradient and ReLU' between layers are exercised.
  explicit Sandbox(const json& optimizer = {{"name", "adam"}, {"learning_rate", 0.01}}) {
    test_support::write_tiny_mnist(dir + "/data", 300, 100);
    e = {{"name", "onednn_peer_test"},
         {"dataset", "mnist"},
         {"model", {{{"units", 24}, {"activation", "relu"}}, {{"units", 16}, {"activation", "relu"}},
                    {{"units", 10}, {"activation", "softmax"}}}},
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

// The peer's and the engine's logs of the same experiment, each after a successful run.
std::pair<json, json> peer_and_engine(const Sandbox& s, const std::string& peer_args) {
  const auto peer = run(kPeer + " " + s.args(peer_args + " --out " + s.dir + "/peer.json --force"));
  INFO(peer.err);
  REQUIRE(peer.exit_code == 0);
  const auto engine = run(test_support::run_experiment_path() + " " +
                          s.args("--threads 1 --out " + s.dir + "/engine.json --force"));
  INFO(engine.err);
  REQUIRE(engine.exit_code == 0);
  return {read_json(s.dir + "/peer.json"), read_json(s.dir + "/engine.json")};
}

void check_losses_track(const json& p, const json& e, double relative) {
  for (size_t i = 0; i < 2; ++i) {
    for (const char* key : {"train_loss", "test_loss"}) {
      INFO("epoch " << i + 1 << " " << key);
      const double a = p["epochs"][i][key], b = e["epochs"][i][key];
      CHECK(std::abs(a - b) <= relative * std::abs(b));
    }
  }
}

}  // namespace

TEST_CASE("the oneDNN peer writes a complete run log and learns") {
  Sandbox s;
  const std::string log_path = s.dir + "/log.json";
  const auto r = run(kPeer + " " + s.args("--threads 2 --out " + log_path));
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  REQUIRE(r.out == log_path + "\n");
  const json log = read_json(log_path);
  CHECK(log["schema"] == "mlpbench.run/1");
  CHECK(log["status"] == "completed");
  CHECK(log["experiment"]["name"] == "onednn_peer_test");
  const json& build = log["build"];
  CHECK(build["compiler"].get<std::string>().rfind("oneDNN ", 0) == 0);
  CHECK(build["simd_config"] == "peer");
  const json& peer = build["peer_config"];
  CHECK(peer["threads"] == 2);
  CHECK(peer["weight_format"] == "any");
  CHECK(peer.contains("OMP_WAIT_POLICY"));
  REQUIRE(peer["layers"].size() == 3);
  CHECK(!peer["layers"][0]["forward"].get<std::string>().empty());
  CHECK(peer["layers"][1].contains("backward_data"));
  CHECK(log["run"]["train_samples"] == 300);
  CHECK(log["run"]["test_samples"] == 100);
  CHECK(log["run"].contains("host_noisy"));
  REQUIRE(log["epochs"].size() == 2);
  CHECK(log["epochs"][0]["steps"] == 10);  // ceil(300 / 32): the last partial batch is kept
  CHECK(log["epochs"][1]["train_seconds"].get<double>() > 0);
  CHECK(log["summary"]["final_test_accuracy"] == log["epochs"][1]["test_accuracy"]);
  CHECK(log["epochs"][1]["test_accuracy"].get<double>() > 0.5);  // chance is 0.1
  CHECK(log["evaluation"]["confusion_matrix"].size() == 10);
}

TEST_CASE("the oneDNN peer trains the engine's model on the engine's batches") {
  // Same initial weights and batch order: the same losses up to float rounding (other sums'
  // orders); another batch order or other initial weights would differ in the second digit.
  SECTION("plain SGD, in every weight format") {
    Sandbox s({{"name", "sgd"}, {"learning_rate", 0.05}});
    for (const std::string format : {"any", "io", "oi"}) {
      INFO("--weight-format " << format);
      const auto [p, e] = peer_and_engine(s, "--threads 1 --weight-format " + format);
      CHECK(p["build"]["peer_config"]["weight_format"] == format);
      check_losses_track(p, e, 1e-4);
    }
  }
  SECTION("Keras' Adam, 2 threads, with a schedule") {
    Sandbox s({{"name", "adam"},
               {"learning_rate", {{"class_name", "ExponentialDecay"},
                                  {"config", {{"initial_learning_rate", 0.01}, {"decay_steps", 5},
                                              {"decay_rate", 0.9}}}}}});
    const auto [p, e] = peer_and_engine(s, "--threads 2");
    check_losses_track(p, e, 1e-4);
  }
  SECTION("SGD with Nesterov momentum") {
    Sandbox s({{"name", "sgd"}, {"learning_rate", 0.02}, {"momentum", 0.9}, {"nesterov", true}});
    const auto [p, e] = peer_and_engine(s, "--threads 1");
    check_losses_track(p, e, 1e-4);
  }
}

TEST_CASE("the oneDNN peer refuses bad arguments and inputs with exit 2 or 3") {
  Sandbox s;
  const std::string out = " --out " + s.dir + "/x.json";
  SECTION("help") {
    const auto r = run(kPeer + " --help");
    CHECK(r.exit_code == 0);
    CHECK(r.out.find("--weight-format") != std::string::npos);
  }
  SECTION("bad numbers, formats and unknown options") {
    for (const std::string bad : {"--epochs 0", "--threads -1", "--threads x", "--train-limit 1.5",
                                  "--weight-format blocked", "--no-such-option", "--seed -3"}) {
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
